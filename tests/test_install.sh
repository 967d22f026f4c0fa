#!/bin/sh
# test_install.sh: `make install DESTDIR=...` installs exactly the public
# surface: the public headers (inrf/cuda.h only with CUDA), libinrf.pc (and
# libinrf-cuda.pc with CUDA), the libraries, the tools and their man pages,
# nothing internal; each public header compiles alone as C99 and as C++;
# and a program built against the installed copy through pkg-config runs.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/testlib.sh" test_install
build=$(cd "$top_builddir" && pwd)
make=${MAKE:-make}

# var NAME: a variable of the build's Makefile, as make expands it.
var() {
    printf 'print-var:\n\t@echo $(%s)\n' "$1" |
        env -u MAKEFLAGS -u MFLAGS "$make" -s -C "$build" -f Makefile -f - print-var
}
prefix=$(var prefix)
cuda=$(var NVCC)
bins=$(var bin_PROGRAMS)
scripts=$(var bin_SCRIPTS)
san=$(var SAN_CFLAGS)
cc=$(var CC)
cxx=$(var CXX)
root=$tmp/root
inst=$root$prefix

# The kinds of library libtool builds here (configure --disable-static ...).
shared=$(sed -n 's/^build_libtool_libs=//p' "$build/libtool" | head -n 1)
static=$(sed -n 's/^build_old_libs=//p' "$build/libtool" | head -n 1)

env -u MAKEFLAGS -u MFLAGS "$make" -s -C "$build" install DESTDIR="$root" >"$tmp/install.log" 2>&1
st=$?
check "make install DESTDIR succeeds" '[ $st = 0 ] || { tail -5 "$tmp/install.log"; false; }'

# ---------------------------------------------------------------- headers
want="encode.h image.h inrf.h model.h pack.h sampler.h types.h"
[ -n "$cuda" ] && want="cuda.h $want"
got=$(cd "$inst/include" 2>/dev/null && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')
expect=$(for h in $want; do echo "inrf/$h"; done | sort | tr '\n' ' ')
check "the public headers and nothing else are installed ($expect)" '[ "$got" = "$expect" ]'
[ "$got" = "$expect" ] || echo "    installed: $got"

# --------------------------------------------------------- pkg-config files
want_pc="libinrf.pc"
[ -n "$cuda" ] && want_pc="libinrf-cuda.pc libinrf.pc"
got_pc=$(ls "$inst/lib/pkgconfig" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
check "pkg-config files: $want_pc" '[ "$got_pc" = "$want_pc" ]'

# -------------------------------------------------------------- libraries
libs="libinrf"
[ -n "$cuda" ] && libs="$libs libinrf_cuda"
for l in $libs; do
    [ "$shared" = yes ] && check "$l: a shared library" '[ -f "$inst/lib/$l.so" ]'
    [ "$static" = yes ] && check "$l: a static library" '[ -f "$inst/lib/$l.a" ]'
done
check "no library beyond libinrf and libinrf_cuda (no convenience library)" \
    '[ -z "$(ls "$inst/lib" | grep -v -e "^libinrf\.\(so\|a\|la\)" -e "^libinrf_cuda\.\(so\|a\|la\)" -e "^pkgconfig$")" ]'
if [ -f "$inst/lib/libinrf.so" ]; then
    # (and OpenMP's named critical sections, global by its design)
    check "libinrf.so exports only inrf_ symbols" \
        '[ -z "$(nm -D --defined-only "$inst/lib/libinrf.so" | awk "\$2 ~ /^[TDBR]$/ {print \$3}" |
                grep -v -e "^inrf_" -e "^\.gomp_critical_user_")" ]'
fi
if [ -f "$inst/lib/libinrf_cuda.so" ]; then
    check "libinrf_cuda.so exports only inrf_cuda_ symbols" \
        '[ -z "$(nm -D --defined-only "$inst/lib/libinrf_cuda.so" | awk "\$2 ~ /^[TDBR]$/ {print \$3}" | grep -v "^inrf_cuda_")" ]'
fi

# ---------------------------------------------------- tools and man pages
for p in $bins $scripts; do
    t=$(basename "$p")
    check "$t is installed and runs" \
        'LD_LIBRARY_PATH="$inst/lib" "$inst/bin/$t" --version >/dev/null 2>"$tmp/err"'
    check "$t has its man page" '[ -f "$inst/share/man/man1/$t.1" ]'
done
check "no other program is installed" \
    '[ "$(ls "$inst/bin" | sort | tr "\n" " ")" = "$(for p in $bins $scripts; do basename "$p"; done | sort | tr "\n" " ")" ]'
for m in man5/inrf.5 man5/inrpack.5 man7/inrf-json.7; do
    check "$m is installed" '[ -f "$inst/share/man/$m" ]'
done

# --------------------------------------- each header alone, C99 and C++
for h in $want; do
    printf '#include <inrf/%s>\nint main(void) { return 0; }\n' "$h" >"$tmp/alone.c"
    check "<inrf/$h> alone compiles as C99" \
        '$cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inst/include" -fsyntax-only "$tmp/alone.c" 2>"$tmp/err"'
    cp "$tmp/alone.c" "$tmp/alone.cc"
    check "<inrf/$h> alone compiles as C++" \
        '$cxx -std=c++11 -Wall -Wextra -Werror -I"$inst/include" -fsyntax-only "$tmp/alone.cc" 2>"$tmp/err"'
done
cat >"$tmp/image_only.c" <<'EOF'
#include <inrf/image.h>
int main(void)
{
    inrf_image_read_options opt;
    inrf_image_read_options_init(&opt);
    inrf_image img = {0};
    inrf_status st = inrf_image_read_file("/nonexistent.png", &opt, &img);
    inrf_image_free(&img);
    return st == INRF_OK;
}
EOF
check "a program that includes only <inrf/image.h> compiles" \
    '$cc -std=c99 -Wall -Werror -I"$inst/include" -c -o "$tmp/image_only.o" "$tmp/image_only.c" 2>"$tmp/err"'

# ------------------------------------- a program against the installed copy
cat >"$tmp/user.c" <<'EOF'
/* Builds a model, writes, reads and decodes it through the installed
 * libinrf, and frees the library's buffer with inrf_free. */
#include <stdio.h>
#include <inrf/inrf.h>
int main(void)
{
    inrf_arch a;
    inrf_arch_siren(&a, 4, 4, 3, 1, 4);
    inrf_model *m = NULL, *back = NULL;
    void *file = NULL;
    size_t size = 0;
    unsigned char px[4 * 4 * 3];
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    if (inrf_model_create(&a, &m) != INRF_OK)
        return 1;
    inrf_model_init(m, 7);
    int ok = inrf_write_memory(m, NULL, &file, &size) == INRF_OK &&
             inrf_read_memory(file, size, NULL, &back) == INRF_OK &&
             inrf_decode_u8(back, &o, px, 0) == INRF_OK;
    inrf_free(file);
    inrf_model_free(m);
    inrf_model_free(back);
    printf("%s %s %zu bytes\n", ok ? "ok" : inrf_last_error(), inrf_version_string(), size);
    return !ok;
}
EOF
pcpath=$inst/lib/pkgconfig
pc() { PKG_CONFIG_PATH=$pcpath pkg-config --define-variable=prefix="$inst" "$@"; }
check "pkg-config finds the installed libinrf" 'pc --exists libinrf'
check "pkg-config's flags point into the installed copy" \
    'pc --cflags --libs libinrf | grep -q -- "-I$inst/include" && pc --libs libinrf | grep -q -- "-L$inst/lib"'
# shellcheck disable=SC2046 # the flags are words
$cc $san -o "$tmp/user" "$tmp/user.c" $(pc --cflags --libs libinrf) 2>"$tmp/err"
check "a program builds against it with pkg-config" '[ -x "$tmp/user" ]'
run env LD_LIBRARY_PATH="$inst/lib" "$tmp/user"
check "and runs with it" '[ $rc = 0 ] && grep -q "^ok " "$tmp/out"'
check "loading the installed libinrf, not the build's" \
    'LD_LIBRARY_PATH="$inst/lib" ldd "$tmp/user" | grep -q "$inst/lib/libinrf.so"'
if [ -f "$inst/lib/libinrf.a" ] && [ -z "$san" ]; then
    # shellcheck disable=SC2046
    $cc -o "$tmp/user_static" "$tmp/user.c" $(pc --cflags libinrf) \
        $(pc --static --libs libinrf | sed "s|-linrf\b|$inst/lib/libinrf.a|") 2>"$tmp/err"
    run "$tmp/user_static"
    check "and links statically with pkg-config --static's libraries" \
        '[ $rc = 0 ] && grep -q "^ok " "$tmp/out" && ! ldd "$tmp/user_static" | grep -q libinrf'
fi
if [ -n "$cuda" ]; then
    cat >"$tmp/cuda_user.c" <<'EOF'
#include <stdio.h>
#include <inrf/cuda.h>
int main(void)
{
    int n = 0;
    inrf_status st = inrf_cuda_devices(&n);
    printf("%s\n", st == INRF_OK || st == INRF_E_NO_DEVICE ? "ok" : inrf_last_error());
    return !(st == INRF_OK || st == INRF_E_NO_DEVICE);
}
EOF
    check "pkg-config finds libinrf-cuda (Requires: libinrf)" \
        'pc --exists libinrf-cuda && pc --libs libinrf-cuda | grep -q -- -linrf_cuda && pc --libs libinrf-cuda | grep -q -- "-linrf\b"'
    # shellcheck disable=SC2046
    $cc $san -o "$tmp/cuda_user" "$tmp/cuda_user.c" $(pc --cflags --libs libinrf-cuda) 2>"$tmp/err"
    check "a program builds against libinrf_cuda with pkg-config" '[ -x "$tmp/cuda_user" ]'
    run env LD_LIBRARY_PATH="$inst/lib" "$tmp/cuda_user"
    check "and runs (a device or INRF_E_NO_DEVICE)" '[ $rc = 0 ]'
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

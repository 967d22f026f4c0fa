#!/bin/sh
# test_outputs.sh: what the tools do with the paths they read beyond plain
# files: a pipe or a device that is not the expected file (/dev/zero) fails
# at once; run by `make check`.
#
# shellcheck disable=SC2016,SC2034 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrinfo="$top_builddir/tools/inrinfo"
inrdec="$top_builddir/tools/inrdec"
inrenc="$top_builddir/tools/inrenc"
inrpack="$top_builddir/tools/inrpack"
inrtrain="$top_builddir/trainer/inrtrain"
golden="$top_srcdir/tests/golden"

if [ ! -f "$golden/tiny.inrf" ] || [ ! -f "$golden/tiny.inrpack" ]; then
    echo "SKIP: no golden files"
    exit 77
fi
. "$top_srcdir/tests/testlib.sh" test_outputs

# Exactly one line on stderr, and it names $1 (and holds $2 when given).
one_line() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -F -q -- "$1" "$tmp/err" &&
        grep -F -q -- "${2:-$1}" "$tmp/err"
}
# No temporary file of an atomic write left in the folders given.
no_temp() {
    for d in "$@"; do
        for f in "$d"/*.tmp-* "$d"/.*.tmp-*; do
            [ -e "$f" ] && return 1
        done
    done
    return 0
}
sum() { cksum <"$1"; }

w="$tmp/w"
mkdir "$w"
"$inrdec" "$golden/tiny.inrf" -o "$w/a.png" 2>"$tmp/err" || fail "decoding the source image"
enc="--effort 1 --threads 1 -q"
# shellcheck disable=SC2086
"$inrenc" $enc "$w/a.png" "$w/ref.inrf" 2>"$tmp/err" || fail "encoding the reference"
cp "$golden/tiny.inrf" "$w/t.inrf"
cp "$golden/tiny.inrpack" "$w/p.inrpack"

# ------------------------------------------- /dev/zero and pipes as input
run timeout 5 "$inrinfo" /dev/zero
check "inrinfo /dev/zero: bad magic at once, one line" \
    '[ "$rc" -eq 1 ] && one_line /dev/zero "bad magic"'
run timeout 5 "$inrdec" /dev/zero -o "$w/z.png"
check "inrdec /dev/zero: bad magic at once, one line, nothing written" \
    '[ "$rc" -eq 1 ] && one_line /dev/zero "bad magic" && [ ! -e "$w/z.png" ]'
run timeout 5 "$inrpack" info /dev/zero
check "inrpack info /dev/zero: bad magic at once, one line" \
    '[ "$rc" -eq 1 ] && one_line /dev/zero "bad magic"'
run timeout 5 "$inrpack" verify /dev/zero
check "inrpack verify /dev/zero: bad magic at once, one line" \
    '[ "$rc" -eq 1 ] && one_line /dev/zero "bad magic"'
run timeout 5 "$inrenc" /dev/zero "$w/z.inrf"
check "inrenc /dev/zero: not a PNG or JPEG at once, one line, nothing written" \
    '[ "$rc" -eq 1 ] && one_line /dev/zero "not a PNG or JPEG" && [ ! -e "$w/z.inrf" ]'
run timeout 5 sh -c 'cat /dev/zero | "$1" -' sh "$inrinfo"
check "inrinfo - from an endless pipe: bad magic at once" \
    '[ "$rc" -eq 1 ] && one_line "bad magic"'
run timeout 5 sh -c '{ cat "$2"; cat /dev/zero; } | "$1" - -o "$3"' sh "$inrdec" "$w/t.inrf" \
    "$w/z2.png"
check "inrdec - from an endless pipe with the right magic: stopped by the size limit" \
    '[ "$rc" -eq 1 ] && one_line "standard input" && [ ! -e "$w/z2.png" ]'
if [ -x "$inrtrain" ]; then
    run timeout 5 "$inrtrain" --eval /dev/zero --test "$w/p.inrpack"
    check "inrtrain --eval /dev/zero: not a checkpoint at once, one line" \
        '[ "$rc" -eq 1 ] && one_line /dev/zero "not an inrtrain checkpoint"'
fi
# the readers still read what pipes carry
run sh -c '"$1" - <"$2"' sh "$inrinfo" "$w/t.inrf"
check "inrinfo - from a pipe still reads an .inrf" '[ "$rc" -eq 0 ]'
run sh -c 'cat "$2" | "$1" - -o "$3"' sh "$inrdec" "$w/t.inrf" "$w/piped.png"
check "inrdec - from a pipe still decodes" '[ "$rc" -eq 0 ] && cmp -s "$w/piped.png" "$w/a.png"'
run sh -c 'cat "$2" | "$1" info -' sh "$inrpack" "$w/p.inrpack"
check "inrpack info - from a pipe still reads a pack" '[ "$rc" -eq 0 ]'

finish

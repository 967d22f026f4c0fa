#!/bin/sh
# test_outputs.sh: what the tools do with the paths they write and read
# beyond plain files: a symbolic link is written through (the link stays),
# a FIFO or a device is written in place (never replaced), /dev/full is one
# error line, an output that is also an input is refused with the input
# untouched, the output is checked before any work, and a pipe or a device
# that is not the expected file (/dev/zero) fails at once; run by
# `make check`.
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

# ---------------------------------------------------- symbolic links
mkdir "$w/other"
echo old >"$w/other/real.png"
ln -s other/real.png "$w/link.png"
run "$inrdec" -f "$w/t.inrf" -o "$w/link.png"
check "inrdec -o LINK: exit 0, the link stays a link, its target holds the image" \
    '[ "$rc" -eq 0 ] && [ -L "$w/link.png" ] && cmp -s "$w/other/real.png" "$w/a.png" &&
     [ "$(readlink "$w/link.png")" = other/real.png ]'
check "inrdec -o LINK: no temporary file beside the link or the target" \
    'no_temp "$w" "$w/other"'

echo old >"$w/other/real.inrf"
ln -s other/real.inrf "$w/link.inrf"
# shellcheck disable=SC2086
run "$inrenc" -f $enc "$w/a.png" "$w/link.inrf"
check "inrenc LINK: the link stays, its target is the encoded file" \
    '[ "$rc" -eq 0 ] && [ -L "$w/link.inrf" ] && cmp -s "$w/other/real.inrf" "$w/ref.inrf" &&
     no_temp "$w" "$w/other"'

ln -s other/real.inrpack "$w/link.inrpack"
echo old >"$w/other/real.inrpack"
run "$inrpack" merge "$w/p.inrpack" -o "$w/link.inrpack" -q -f
check "inrpack merge -o LINK: the link stays, its target is the pack" \
    '[ "$rc" -eq 0 ] && [ -L "$w/link.inrpack" ] && cmp -s "$w/other/real.inrpack" "$w/p.inrpack"'

ln -s missing.png "$w/dangling.png"
run "$inrdec" "$w/t.inrf" -o "$w/dangling.png"
check "a dangling link: refused in one line, the link unchanged, nothing created" \
    '[ "$rc" -eq 1 ] && one_line "$w/dangling.png" "dangling" && [ -L "$w/dangling.png" ] &&
     [ ! -e "$w/missing.png" ]'

# ------------------------------------------------------------ FIFOs
if mkfifo "$w/fifo.png" 2>/dev/null; then
    timeout 20 cat "$w/fifo.png" >"$w/from_fifo.png" &
    reader=$!
    run timeout 20 "$inrdec" "$w/t.inrf" -o "$w/fifo.png"
    wait "$reader"
    check "inrdec -o FIFO: written through the FIFO, which stays a FIFO" \
        '[ "$rc" -eq 0 ] && [ -p "$w/fifo.png" ] && cmp -s "$w/from_fifo.png" "$w/a.png"'

    mkfifo "$w/fifo.inrf"
    timeout 20 cat "$w/fifo.inrf" >"$w/from_fifo.inrf" &
    reader=$!
    # shellcheck disable=SC2086
    run timeout 20 "$inrenc" $enc "$w/a.png" "$w/fifo.inrf"
    wait "$reader"
    check "inrenc FIFO: written through the FIFO, which stays a FIFO" \
        '[ "$rc" -eq 0 ] && [ -p "$w/fifo.inrf" ] && cmp -s "$w/from_fifo.inrf" "$w/ref.inrf"'

    # create reads a regular pack back for its summary, never a FIFO
    mkdir -p "$w/fsrc/a" "$w/fsrc/b"
    cp "$w/a.png" "$w/fsrc/a/x.png"
    cp "$w/a.png" "$w/fsrc/b/y.png"
    mkfifo "$w/fifo.inrpack"
    timeout 20 cat "$w/fifo.inrpack" >"$w/from_fifo.inrpack" &
    reader=$!
    run timeout 20 "$inrpack" create "$w/fsrc" -o "$w/fifo.inrpack" --effort 1
    wait "$reader"
    check "inrpack create -o FIFO: the pack goes through the FIFO, no journal left" \
        '[ "$rc" -eq 0 ] && [ -p "$w/fifo.inrpack" ] && [ ! -e "$w/fifo.inrpack.journal" ] &&
         "$inrpack" verify -q "$w/from_fifo.inrpack"'
else
    echo "skip: cannot make a FIFO"
fi

# ---------------------------------------------------------- devices
# A device node of our own first (root only): a tool that replaced it
# would replace /dev/full too, which is tried only after.
full_ok=no
if [ "$(id -u)" -eq 0 ] && mknod "$w/full.png" c 1 7 2>/dev/null &&
    mknod "$w/null.png" c 1 3 2>/dev/null && [ -c "$w/full.png" ]; then
    run "$inrdec" "$w/t.inrf" -o "$w/null.png"
    check "inrdec -o a null device: exit 0, still a character device" \
        '[ "$rc" -eq 0 ] && [ -c "$w/null.png" ]'
    run "$inrdec" "$w/t.inrf" -o "$w/full.png"
    check "inrdec -o a full device: one line (ENOSPC) naming it, exit 1, still a device" \
        '[ "$rc" -eq 1 ] && one_line "$w/full.png" "No space left on device" &&
         [ -c "$w/full.png" ] && no_temp "$w"'
    [ -c "$w/full.png" ] && full_ok=yes
else
    echo "skip: cannot make device nodes (not root)"
    [ "$(id -u)" -ne 0 ] && full_ok=yes # /dev is not ours to replace
fi
if [ "$full_ok" = yes ] && [ -c /dev/full ]; then
    # shellcheck disable=SC2086
    run "$inrenc" $enc "$w/a.png" /dev/full
    check "inrenc /dev/full: one line (ENOSPC) naming it, exit 1, /dev/full still a device" \
        '[ "$rc" -eq 1 ] && one_line /dev/full "No space left on device" && [ -c /dev/full ]'
    run "$inrpack" merge "$w/p.inrpack" -o /dev/full
    check "inrpack merge -o /dev/full: one line naming it, exit 1, still a device" \
        '[ "$rc" -eq 1 ] && one_line /dev/full "No space left on device" && [ -c /dev/full ]'
fi

# ----------------------------------------------- output = input: refused
before=$(sum "$w/a.png")
# shellcheck disable=SC2086
run "$inrenc" $enc "$w/a.png" "$w/a.png"
check "inrenc IN IN: refused in one line naming it, the image untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/a.png" "input" && [ "$(sum "$w/a.png")" = "$before" ]'
ln -s a.png "$w/alias.png"
# shellcheck disable=SC2086
run "$inrenc" $enc "$w/alias.png" "$w/a.png"
check "inrenc through a link to the output: refused, the image untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/a.png" "input" && [ "$(sum "$w/a.png")" = "$before" ]'

before=$(sum "$w/t.inrf")
run "$inrdec" "$w/t.inrf" -o "$w/t.inrf" --format png
check "inrdec IN -o IN: refused in one line, the .inrf untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/t.inrf" "input" && [ "$(sum "$w/t.inrf")" = "$before" ]'

cp "$w/p.inrpack" "$w/q.inrpack"
before=$(sum "$w/q.inrpack")
run "$inrpack" merge "$w/p.inrpack" "$w/q.inrpack" -o "$w/q.inrpack"
check "inrpack merge A B -o B: refused in one line, B untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/q.inrpack" "input" && [ "$(sum "$w/q.inrpack")" = "$before" ]'

# extract: a file it would write is the pack itself
mkdir -p "$w/ex/dog"
cp "$w/p.inrpack" "$w/ex/dog/000000.inrf"
before=$(sum "$w/ex/dog/000000.inrf")
run "$inrpack" extract "$w/ex/dog/000000.inrf" -o "$w/ex" --format inrf
check "inrpack extract onto its own pack: refused in one line, the pack untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/ex/dog/000000.inrf" "input" &&
     [ "$(sum "$w/ex/dog/000000.inrf")" = "$before" ]'
run "$inrpack" extract "$w/p.inrpack" -o "$w/p.inrpack"
check "inrpack extract -o a file: one line, the file untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/p.inrpack" && [ "$(sum "$w/p.inrpack")" = "$(sum "$w/q.inrpack")" ]'

# create: the pack written over a source image, by folder and by list
mkdir -p "$w/src/cats" "$w/src/dogs"
cp "$w/a.png" "$w/src/cats/c.png"
cp "$w/a.png" "$w/src/dogs/d.png"
before=$(sum "$w/src/dogs/d.png")
run "$inrpack" create "$w/src" -o "$w/src/dogs/d.png" --effort 1 -q
check "inrpack create SRC -o SRC/CLASS/IMAGE: refused before encoding, the image untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/src/dogs/d.png" "input" &&
     [ "$(sum "$w/src/dogs/d.png")" = "$before" ] && [ ! -e "$w/src/dogs/d.png.journal" ]'
printf '%s\t0\n%s\t1\n' "$w/src/cats/c.png" "$w/src/dogs/d.png" >"$w/list.txt"
run "$inrpack" create --list "$w/list.txt" -o "$w/src/cats/c.png" --effort 1 -q
check "inrpack create --list: a listed image as the output is refused, untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/src/cats/c.png" "input" &&
     [ "$(sum "$w/src/cats/c.png")" = "$before" ]'
before=$(sum "$w/list.txt")
run "$inrpack" create --list "$w/list.txt" -o "$w/list.txt" --effort 1 -q
check "inrpack create --list L -o L: refused, the list untouched" \
    '[ "$rc" -eq 1 ] && one_line "$w/list.txt" "input" && [ "$(sum "$w/list.txt")" = "$before" ]'

if [ -x "$inrtrain" ]; then
    before=$(sum "$w/q.inrpack")
    for opt in -o --checkpoint --log; do
        out="$w/model"
        case $opt in -o) out="$w/q.inrpack" ;; esac
        extra=""
        case $opt in --checkpoint | --log) extra="$opt $w/q.inrpack" ;; esac
        # shellcheck disable=SC2086
        run "$inrtrain" --train "$w/q.inrpack" --epochs 1 -q -o "$out" $extra
        check "inrtrain $opt onto the training pack: refused in one line, the pack untouched" \
            '[ "$rc" -eq 1 ] && one_line "$w/q.inrpack" "input" &&
             [ "$(sum "$w/q.inrpack")" = "$before" ] && [ ! -e "$w/model" ]'
    done
fi

# --------------------------------------- the output is checked first
mkdir "$w/dir.inrf" "$w/dir.inrpack"
# The input is not even an image: an output checked first is what fails.
run "$inrenc" /dev/zero "$w/dir.inrf"
check "inrenc IN DIR: 'is a directory' before the input is read" \
    '[ "$rc" -eq 1 ] && one_line "$w/dir.inrf" "is a directory"'
run "$inrdec" /dev/zero -o "$w/nofolder/x.png"
check "inrdec -o into a missing folder: named before the input is read" \
    '[ "$rc" -eq 1 ] && one_line "$w/nofolder/x.png" "nofolder"'
run "$inrpack" merge "$w/missing.inrpack" -o "$w/dir.inrpack"
check "inrpack merge -o DIR: refused before the inputs are opened" \
    '[ "$rc" -eq 1 ] && one_line "$w/dir.inrpack" "is a directory"'
run "$inrpack" create "$w/src" -o "$w/dir.inrpack" --effort 1 -q
check "inrpack create -o DIR: refused before encoding, no journal made" \
    '[ "$rc" -eq 1 ] && one_line "$w/dir.inrpack" "is a directory" &&
     [ ! -e "$w/dir.inrpack.journal" ]'
if [ -x "$inrtrain" ]; then
    run "$inrtrain" --train "$w/missing.inrpack" --epochs 1 -q -o "$w/dir.inrpack"
    check "inrtrain -o DIR: refused before the training set is opened" \
        '[ "$rc" -eq 1 ] && one_line "$w/dir.inrpack" "is a directory"'
fi

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

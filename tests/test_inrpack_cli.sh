#!/bin/sh
# test_inrpack_cli.sh: inrpack's command line as users meet it: outputs
# never replaced without -f (nor inputs with it), the output's lock, what
# create checks before encoding, each subcommand's own options and --help,
# several packs, JSON, damaged records, the encoder's options and
# --resize; run by `make check`.
#
# shellcheck disable=SC2016 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrpack="$top_builddir/tools/inrpack"
inrdec="$top_builddir/tools/inrdec"
inrinfo="$top_builddir/tools/inrinfo"
golden="$top_srcdir/tests/golden/cifar.inrf"

if [ ! -f "$golden" ]; then
    echo "SKIP: no golden files"
    exit 77
fi
. "$top_srcdir/tests/testlib.sh" test_inrpack_cli
have_python=no
command -v python3 >/dev/null 2>&1 && have_python=yes
# json FILE EXPR: FILE parses as JSON and the Python expression EXPR on it
# (as v) is true; without python3, FILE only has to start with '['.
json() {
    if [ "$have_python" = yes ]; then
        python3 -c 'import json, sys; v = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
    else
        [ "$(head -c 1 "$1")" = "[" ]
    fi
}

# Four 16x16 images in two classes, and a text file.
src="$tmp/src"
mkdir -p "$src/a" "$src/b"
k=0
for spec in a:0,0 a:8,4 b:3,9 b:12,12; do
    "$inrdec" --size 32 --crop "${spec#*:},16,16" "$golden" -o "$src/${spec%%:*}/i$k.png" \
        2>"$tmp/err" || fail "making source image $k"
    k=$((k + 1))
done
echo "not an image" >"$src/a/zz-notes.txt"
fast="--effort 1 --preset cifar10 -q"
pack="$tmp/p.inrpack"
# shellcheck disable=SC2086
"$inrpack" create "$src" -o "$pack" $fast 2>"$tmp/err" || fail "create the reference pack"

# ------------------------------------------------------------ overwrites
cp "$pack" "$tmp/keep.inrpack"
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$pack" $fast
check "create: an existing pack is not replaced without -f, one line saying so" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "p.inrpack: already exists; not overwritten (-f overwrites it)" "$tmp/err" &&
     cmp -s "$pack" "$tmp/keep.inrpack" && [ ! -e "$pack.journal" ]'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$pack" $fast -f
check "create -f replaces it" '[ "$rc" -eq 0 ] && cmp -s "$pack" "$tmp/keep.inrpack"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$src/a/i0.png" $fast --force
check "create -f never writes over a source" \
    '[ "$rc" -eq 1 ] && grep -q "i0.png" "$tmp/err" && cmp -s "$src/a/i0.png" "$src/a/i0.png"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o /dev/null $fast
check "create -o /dev/null: encodes, keeps no journal beside the device" \
    '[ "$rc" -eq 0 ] && [ ! -e /dev/null.journal ]'

run "$inrpack" merge "$pack" -o "$tmp/keep.inrpack"
check "merge: an existing output is not replaced without -f" \
    '[ "$rc" -eq 1 ] && grep -q "keep.inrpack: already exists; not overwritten" "$tmp/err"'
run "$inrpack" merge "$pack" -o "$tmp/keep.inrpack" -f
check "merge -f replaces it, and leaves no lock file" \
    '[ "$rc" -eq 0 ] && cmp -s "$pack" "$tmp/keep.inrpack" && [ ! -e "$tmp/keep.inrpack.journal" ]'
run "$inrpack" merge "$pack" -o "$pack" -f
check "merge -f never writes over an input" '[ "$rc" -eq 1 ] && cmp -s "$pack" "$tmp/keep.inrpack"'
if command -v flock >/dev/null 2>&1; then
    run flock -n "$tmp/m.inrpack.journal" "$inrpack" merge "$pack" -o "$tmp/m.inrpack"
    check "merge: takes create's lock on OUT.journal; a held one is refused" \
        '[ "$rc" -eq 1 ] && grep -q "m.inrpack.journal: another job holds this journal" "$tmp/err" &&
         [ ! -e "$tmp/m.inrpack" ]'
fi
printf 'INRPJRN2 and more' >"$tmp/j.inrpack.journal"
run "$inrpack" merge "$pack" -o "$tmp/j.inrpack"
check "merge: an interrupted create's journal is left to it" \
    '[ "$rc" -eq 1 ] && grep -q "j.inrpack.journal: the journal of an interrupted" "$tmp/err" &&
     [ -s "$tmp/j.inrpack.journal" ] && [ ! -e "$tmp/j.inrpack" ]'

run "$inrpack" extract "$pack" -o "$tmp/x"
run "$inrpack" extract "$pack" -o "$tmp/x"
check "extract: existing images are not replaced without -f, nothing written" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "already exists" "$tmp/err"'
run "$inrpack" extract "$pack" -o "$tmp/x" -f
check "extract -f replaces them" '[ "$rc" -eq 0 ] && [ "$(find "$tmp/x" -name "*.png" | wc -l)" -eq 4 ]'

# A resumed create completes its journal's pack: no -f needed, even where
# an older OUT is still in the way.
big="$tmp/big"
mkdir -p "$big/c"
for k in 0 1 2 3 4 5 6 7 8 9; do cp "$src/a/i0.png" "$big/c/i$k.png"; done
slow="--effort 3 --preset cifar10 --jobs 1 -q"
cp "$pack" "$tmp/r.inrpack"
# shellcheck disable=SC2086
"$inrpack" create "$big" -o "$tmp/r.inrpack" $slow -f 2>/dev/null &
pid=$!
wait_journal "$tmp/r.inrpack.journal"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
# shellcheck disable=SC2086
run "$inrpack" create "$big" -o "$tmp/r.inrpack" $slow
check "create: resuming needs no -f" \
    '[ "$rc" -eq 0 ] && [ ! -e "$tmp/r.inrpack.journal" ] && "$inrpack" info "$tmp/r.inrpack" | grep -q "10 images"'

# A FIFO (or a device) as output has no journal beside it: none while
# the run waits for the FIFO's reader, which comes later.
mkfifo "$tmp/fifo"
# shellcheck disable=SC2086
"$inrpack" create "$big" -o "$tmp/fifo" $fast --jobs 1 2>"$tmp/err" &
pid=$!
sleep 1
[ -e "$tmp/fifo.journal" ] && journal_seen=yes || journal_seen=no
cat "$tmp/fifo" >"$tmp/fifo.out"
wait $pid
rc=$?
check "create into a FIFO: the pack, and no journal beside the FIFO" \
    '[ "$rc" -eq 0 ] && [ "$journal_seen" = no ] && [ ! -e "$tmp/fifo.journal" ] &&
     "$inrpack" verify -q "$tmp/fifo.out"'

# ------------------------------------------------- checks before encoding
printf 'src/a/i0.png\t0\nsrc/b/i2.png\t1\n./src/a/i0.png\t1\n' >"$tmp/dup.tsv"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/dup.tsv" -o "$tmp/d.inrpack" $fast
check "create --list: a file listed twice is refused in one line naming both lines" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "dup.tsv:3: ./src/a/i0.png is the file of line 1 already" "$tmp/err" &&
     [ ! -e "$tmp/d.inrpack.journal" ]'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/nowhere/o.inrpack" $fast
check "create: a missing output folder is refused before encoding, one line" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "nowhere" "$tmp/err"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/s.inrpack" --effort 1 --preset cifar10 --jobs 1 -v
check "create: a file that is not an image is named before any image is encoded" \
    '[ "$rc" -eq 0 ] && head -n 1 "$tmp/err" | grep -q "warning: skipped .*zz-notes.txt: not an image" &&
     grep -q "4 images (1 skipped)" "$tmp/err"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/st.inrpack" $fast --strict
check "create --strict: refused before encoding, naming it, no journal" \
    '[ "$rc" -eq 1 ] && grep -q "zz-notes.txt: not an image" "$tmp/err" &&
     grep -q "1 source file is not an image (--strict): nothing encoded" "$tmp/err" &&
     [ ! -e "$tmp/st.inrpack" ] && [ ! -e "$tmp/st.inrpack.journal" ]'

# ------------------------------------------------ options and several packs
check "info --size: not an option of info, exit 2" 'inrpack_usage "$inrpack" info --size 8 "$pack"'
check "verify --format: not an option of verify, exit 2" 'inrpack_usage "$inrpack" verify --format png "$pack"'
check "extract --json: exit 2" 'inrpack_usage "$inrpack" extract --json "$pack" -o "$tmp/u"'
check "merge --size: exit 2" 'inrpack_usage "$inrpack" merge --size 8 "$pack" -o "$tmp/u.inrpack"'
check "info -o: exit 2" 'inrpack_usage "$inrpack" info "$pack" -o "$tmp/u"'
check "usage errors write nothing" '[ ! -e "$tmp/u" ] && [ ! -e "$tmp/u.inrpack" ]'
for cmd in create info verify extract merge; do
    run "$inrpack" $cmd --help
    check "$cmd --help: its own usage, exit 0" \
        '[ "$rc" -eq 0 ] && grep -q "^Usage: inrpack $cmd" "$tmp/out" && grep -q -- "--help" "$tmp/out"'
done
run "$inrpack" info --help
check "info --help lists its options only" \
    'grep -q -- "--json" "$tmp/out" && ! grep -q -- "--size" "$tmp/out"'

cp "$pack" "$tmp/q.inrpack"
run "$inrpack" info "$pack" "$tmp/q.inrpack"
check "info A B: both described" \
    '[ "$rc" -eq 0 ] && grep -q "p.inrpack: .inrpack, 4 images" "$tmp/out" &&
     grep -q "q.inrpack: .inrpack, 4 images" "$tmp/out"'
run "$inrpack" info --json "$pack"
check "info --json of one pack: an array of one object" \
    '[ "$rc" -eq 0 ] && json "$tmp/out" "len(v) == 1 and v[0][\"images\"] == 4 and v[0][\"path\"].endswith(\"p.inrpack\") and v[0][\"bad_records\"] == []"'
run "$inrpack" info --json "$pack" "$tmp/missing.inrpack" "$tmp/q.inrpack"
check "info --json A MISSING B: three objects, the missing one with its error, exit 1" \
    '[ "$rc" -eq 1 ] && json "$tmp/out" "len(v) == 3 and \"error\" in v[1] and v[2][\"images\"] == 4"'
run "$inrpack" info -v "$pack"
check "info -v lists the images of lowest PSNR" \
    '[ "$rc" -eq 0 ] && grep -q "lowest PSNR" "$tmp/out" && [ "$(grep -c " dB$" "$tmp/out")" -ge 2 ]'
run "$inrpack" verify --json "$pack" "$tmp/q.inrpack"
check "verify --json: one array, each pack ok" \
    '[ "$rc" -eq 0 ] && json "$tmp/out" "len(v) == 2 and all(o[\"ok\"] and o[\"images\"] == 4 for o in v)"'

# ------------------------------------------------------ a damaged record
size=$(wc -c <"$pack")
cp "$pack" "$tmp/c.inrpack"
printf '\377' | dd of="$tmp/c.inrpack" bs=1 seek=$((size - 80)) conv=notrunc 2>/dev/null
run "$inrpack" info --json "$tmp/c.inrpack"
check "info of a pack with a bad record: still described, the record listed, exit 1" \
    '[ "$rc" -eq 1 ] && grep -q "record 3" "$tmp/err" &&
     json "$tmp/out" "v[0][\"images\"] == 4 and v[0][\"bad_records\"] == [3]"'
run "$inrpack" verify --json "$tmp/c.inrpack"
check "verify --json lists the bad record" \
    '[ "$rc" -eq 1 ] && json "$tmp/out" "v[0][\"ok\"] is False and v[0][\"bad_records\"] == [3]"'
run "$inrpack" extract "$tmp/c.inrpack" -o "$tmp/cx"
check "extract: the intact images are extracted, the bad record named in one line, exit 1" \
    '[ "$rc" -eq 1 ] && [ "$(find "$tmp/cx" -name "*.png" | wc -l)" -eq 3 ] &&
     [ "$(grep -c "record 3 (class b" "$tmp/err")" -eq 1 ] &&
     grep -q "1 of 4 images not extracted" "$tmp/err"'

# ------------------------------------------------------ encoder options
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/o.inrpack" $fast --layers 2 --hidden 8 --w0 20 --quant int8-row \
    --fp32-io --steps 50 --no-prune --seed 3 --batch 64 --json
check "create takes inrenc's architecture options, --json: one array" \
    '[ "$rc" -eq 0 ] && json "$tmp/out" "len(v) == 1 and v[0][\"images\"] == 4 and v[0][\"skipped\"] == 1" &&
     "$inrpack" info "$tmp/o.inrpack" | grep -q "SIREN 2 x 8, w0 20/30"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/o.inrpack" $fast --json
check "create --json of a failed run: its object with the error" \
    '[ "$rc" -eq 1 ] && json "$tmp/out" "len(v) == 1 and \"already exists\" in v[0][\"error\"] and v[0][\"output\"].endswith(\"o.inrpack\")"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/bpp.inrpack" $fast --bpp 40 --target-psnr 30 --max-bytes 5000
check "create takes --bpp, --target-psnr and --max-bytes" '[ "$rc" -eq 0 ]'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/u.inrpack" $fast --layers 0
check "create --layers 0: exit 2" '[ "$rc" -eq 2 ] && [ ! -e "$tmp/u.inrpack" ]'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/u.inrpack" $fast --layers 64 --hidden 1024
check "create: a network over the readers' limit is a usage error at the first image, nothing kept" \
    '[ "$rc" -eq 2 ] && grep -q "over the readers. default limit" "$tmp/err" &&
     [ ! -e "$tmp/u.inrpack" ] && [ ! -e "$tmp/u.inrpack.journal" ]'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/rs.inrpack" $fast --resize 8
"$inrpack" extract "$tmp/rs.inrpack" 0 -o "$tmp/rsx" --format inrf -q 2>/dev/null
check "create --resize 8: a 16x16 source is encoded at 8x8" \
    '[ "$rc" -eq 0 ] && f=$(find "$tmp/rsx" -name "*.inrf") && "$inrinfo" "$f" | grep -q "8 x 8"'
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/rb.inrpack" $fast --resize 64
check "create --resize never enlarges: the same pack as without it" \
    '[ "$rc" -eq 0 ] && cmp -s "$tmp/rb.inrpack" "$pack"'

finish

#!/bin/sh
# test_inrpack.sh: end-to-end checks of inrpack on a small generated
# ImageFolder: create -> verify -> extract, labels by sorted class names,
# determinism, resume after kill -9 and Ctrl-C, shards and merge, bad
# sources, corrupt packs and usage errors; run by `make check`.
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
. "$top_srcdir/tests/testlib.sh" test_inrpack

# ------------------------------------------------------------ the sources
# Three classes made in unsorted order, images of several sizes decoded
# from a golden file (crops make them differ), one below a subfolder, a
# hidden file (ignored) and a text file (skipped with a warning).
src="$tmp/src"
mkdir -p "$src/zebra" "$src/ant/sub" "$src/mole"
n=0
for spec in zebra:16,0,0 zebra:16,8,8 ant:12,4,0 ant/sub:16,2,2 mole:14,0,6 mole:16,6,3 \
            mole:10,10,10 zebra:16,16,16; do
    dir=${spec%%:*}
    set -- $(echo "${spec#*:}" | tr ',' ' ')
    "$inrdec" --size 32 --crop "$2,$3,$1,$1" "$golden" -o "$src/$dir/img$n.png" 2>"$tmp/err" ||
        fail "making source image $n"
    n=$((n + 1))
done
cp "$src/zebra/img0.png" "$src/zebra/.hidden.png"
echo "not an image" >"$src/ant/notes.txt"
images=8
fast="--effort 1 --preset cifar10"

# ------------------------------------------------------- create and verify
pack="$tmp/a.inrpack"
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$pack" $fast --jobs 2
check "create: exit 0, pack written, no journal left" \
    '[ "$rc" -eq 0 ] && [ -s "$pack" ] && [ ! -e "$pack.journal" ]'
check "create: the text file is skipped with a warning naming it" \
    'grep -q "warning: skipped .*notes.txt" "$tmp/err"'
check "create: summary counts images and skipped files" \
    'grep -q "$images images (1 skipped), PSNR mean" "$tmp/err"'
# Flat images (most of these crops) are encoded exactly: counted apart, not
# averaged into an infinite mean
check "create: an exact image is counted apart from the PSNR mean" \
    'grep -q "PSNR mean [0-9.]* dB, min [0-9.]* dB, [1-9][0-9]* images exact" "$tmp/err" && ! grep -q "inf dB" "$tmp/err"'

run "$inrpack" info "$pack"
check "info: images, classes sorted by name, counts per class" \
    '[ "$rc" -eq 0 ] && grep -q "$images images, 3 classes, 3 channels" "$tmp/out" &&
     grep -q "class 0 *ant: 2 images" "$tmp/out" && grep -q "class 1 *mole: 3 images" "$tmp/out" &&
     grep -q "class 2 *zebra: 3 images" "$tmp/out"'
run "$inrpack" info --json "$pack"
if command -v python3 >/dev/null 2>&1; then
    check "info --json parses and agrees" \
        'python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert len(v)==1; v=v[0]; sys.exit(not(v[\"images\"]==8 and [c[\"name\"] for c in v[\"classes\"]]==[\"ant\",\"mole\",\"zebra\"]))" "$tmp/out"'
fi
run "$inrpack" verify "$pack"
check "verify: OK" '[ "$rc" -eq 0 ] && grep -q "OK ($images images)" "$tmp/out"'

# -------------------------------------------------------------- extract
run "$inrpack" extract "$pack" -o "$tmp/x"
check "extract: one PNG per image in class folders" \
    '[ "$rc" -eq 0 ] && [ "$(find "$tmp/x" -name "*.png" | wc -l)" -eq "$images" ] &&
     [ "$(ls "$tmp/x/ant" | wc -l)" -eq 2 ] && [ "$(ls "$tmp/x/zebra" | wc -l)" -eq 3 ]'
# seq is the position in the sorted listing: ant/img2.png, ant/sub/img3.png,
# mole/img4..6.png, zebra/img0,1,7.png -> 0 ant/notes.txt is position 1
run "$inrpack" extract "$pack" 0 -o "$tmp/xi" --format inrf
check "extract --format inrf: an .inrf that inrinfo reads, at the source size" \
    '[ "$rc" -eq 0 ] && f=$(find "$tmp/xi" -name "*.inrf") && [ -n "$f" ] &&
     "$inrinfo" "$f" >"$tmp/info" 2>&1 && grep -q "12 x 12" "$tmp/info"'
check "extract: PNG equals inrdec of the extracted .inrf" \
    'f=$(find "$tmp/xi" -name "*.inrf") && "$inrdec" "$f" -o "$tmp/xi.png" 2>/dev/null &&
     cmp -s "$tmp/xi.png" "$tmp/x/ant/$(basename "$f" .inrf).png"'
run "$inrpack" extract "$pack" 5 -o "$tmp/x2" --size 32
check "extract --size 32 decodes at that size" \
    '[ "$rc" -eq 0 ] && p=$(find "$tmp/x2" -name "*.png") && [ -n "$p" ] &&
     [ "$(od -An -tx1 -j16 -N8 "$p" | tr -d " \n")" = "0000002000000020" ]'
run "$inrpack" extract "$pack" 5 -o "$tmp/x3" --size 96 --threads 1
run "$inrpack" extract "$pack" 5 -o "$tmp/x4" --size 96 -j 3
check "extract --threads: the same pixels on 1 and 3 threads" \
    '[ "$rc" -eq 0 ] && a=$(find "$tmp/x3" -name "*.png") && b=$(find "$tmp/x4" -name "*.png") &&
     [ -n "$a" ] && cmp -s "$a" "$b"'

# The pixel limit of inrdec: huge.inrpack holds tiny.inrpack's record
# twice, its index claiming 20000x20000 (image 0) and 2^24 x 2^24 (image 1)
# (written by inrf_pack_writer_add_record, so every checksum is valid).
huge="$top_srcdir/tests/golden/huge.inrpack"
run "$inrpack" extract "$huge" 0 -o "$tmp/h0"
check "extract: a 20000x20000 image is refused by the 2^28 pixel limit, one line, nothing written" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "huge.inrpack: image 0: a 20000x20000 image is larger than the limit of 2^28 pixels (--size" "$tmp/err" &&
     [ ! -e "$tmp/h0" ]'
run "$inrpack" extract "$huge" 1 -o "$tmp/h1"
check "extract: a 2^24 x 2^24 image is refused, not allocated" \
    '[ "$rc" -eq 1 ] && grep -q "image 1: a 16777216x16777216 image is larger" "$tmp/err" && [ ! -e "$tmp/h1" ]'
run "$inrpack" extract "$huge" -o "$tmp/h2" --size 20000
check "extract: every image is checked before any is written" \
    '[ "$rc" -eq 1 ] && grep -q "image 0: a 20000x20000" "$tmp/err" && [ ! -e "$tmp/h2" ]'
run "$inrpack" extract "$huge" -o "$tmp/h3" --size 8
check "extract --size brings them within the limit" \
    '[ "$rc" -eq 0 ] && [ "$(find "$tmp/h3" -name "*.png" | wc -l)" -eq 2 ]'
run "$inrpack" extract "$huge" -o "$tmp/h4" --format inrf
check "extract --format inrf decodes nothing: no limit" \
    '[ "$rc" -eq 0 ] && [ "$(find "$tmp/h4" -name "*.inrf" | wc -l)" -eq 2 ]'

# ---------------------------------------------------------- determinism
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/b.inrpack" $fast --jobs 1 -q
check "create: same bytes with 1 job as with 2" '[ "$rc" -eq 0 ] && cmp -s "$pack" "$tmp/b.inrpack"'

# ------------------------------------------------------- shards and merge
for i in 0 1 2; do
    # shellcheck disable=SC2086
    "$inrpack" create "$src" -o "$tmp/s$i.inrpack" $fast --shard "$i/3" -q 2>"$tmp/err" ||
        fail "create --shard $i/3"
done
run "$inrpack" merge "$tmp/s2.inrpack" "$tmp/s0.inrpack" "$tmp/s1.inrpack" -o "$tmp/m.inrpack"
check "merge of three shards equals the single run, byte for byte" \
    '[ "$rc" -eq 0 ] && cmp -s "$pack" "$tmp/m.inrpack"'
run "$inrpack" merge "$tmp/s0.inrpack" "$tmp/s0.inrpack" -o "$tmp/dup.inrpack"
check "merge: an image in two inputs is refused, naming both" \
    '[ "$rc" -eq 1 ] && grep -q "is in both" "$tmp/err" && [ ! -e "$tmp/dup.inrpack" ]'
mkdir -p "$tmp/other/cat"
cp "$src/mole/img4.png" "$tmp/other/cat/"
# shellcheck disable=SC2086
"$inrpack" create "$tmp/other" -o "$tmp/other.inrpack" $fast -q 2>/dev/null
run "$inrpack" merge "$tmp/s0.inrpack" "$tmp/other.inrpack" -o "$tmp/mix.inrpack"
check "merge: other classes are refused" \
    '[ "$rc" -eq 1 ] && grep -q "not shards of one set" "$tmp/err" && [ ! -e "$tmp/mix.inrpack" ]'

# ------------------------------------------------------------- --list
printf '# path\tlabel\nsrc/zebra/img0.png\t2\nsrc/ant/img2.png\t0\n\nsrc/mole/img4.png\t2\n' >"$tmp/l.tsv"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/l.tsv" -o "$tmp/l.inrpack" $fast
run "$inrpack" info "$tmp/l.inrpack"
check "--list with numeric labels: classes 0..max" \
    'grep -q "3 images, 3 classes" "$tmp/out" && grep -q "class 1 *1: 0 images" "$tmp/out" &&
     grep -q "class 2 *2: 2 images" "$tmp/out"'
printf 'src/zebra/img0.png\t0\nsrc/gone.png\t0\n' >"$tmp/gone.tsv"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/gone.tsv" -o "$tmp/gone.inrpack" $fast
check "--list: a missing file is skipped with a warning naming it once" \
    '[ "$rc" -eq 0 ] && grep -q "warning: skipped .*src/gone.png: No such file or directory" "$tmp/err" &&
     [ "$(grep -o "gone.png" "$tmp/err" | wc -l)" -eq 1 ]'
printf 'src/zebra/img0.png\tstriped\nsrc/ant/img2.png\tant\n' >"$tmp/n.tsv"
# shellcheck disable=SC2086
"$inrpack" create --list "$tmp/n.tsv" -o "$tmp/n.inrpack" $fast -q 2>/dev/null
run "$inrpack" info "$tmp/n.inrpack"
check "--list with names: classes sorted" \
    'grep -q "class 0 *ant: 1 images" "$tmp/out" && grep -q "class 1 *striped: 1 images" "$tmp/out"'

# Lists are bounded: no device, FIFO or folder, no endless line.
# shellcheck disable=SC2086
run "$inrpack" create --list /dev/zero -o "$tmp/z.inrpack" $fast
check "--list /dev/zero: refused as not a regular file, one line" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "/dev/zero: not a regular file" "$tmp/err" && [ ! -e "$tmp/z.inrpack.journal" ]'
mkfifo "$tmp/fifo"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/fifo" -o "$tmp/z.inrpack" $fast
check "--list FIFO: refused without waiting for a writer" \
    '[ "$rc" -eq 1 ] && grep -q "fifo: not a regular file" "$tmp/err"'
head -c 100000 /dev/zero | tr '\0' 'a' >"$tmp/long.tsv"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/long.tsv" -o "$tmp/z.inrpack" $fast
check "--list: a line without end is refused, naming the line" \
    '[ "$rc" -eq 1 ] && grep -q "long.tsv:1: line longer than 4352 bytes" "$tmp/err"'
# Numeric labels are class numbers 0..65534, however many digits.
for big in 65535 4000000000; do
    printf 'src/zebra/img0.png\t0\nsrc/ant/img2.png\t%s\n' "$big" >"$tmp/big.tsv"
    # shellcheck disable=SC2086
    run "$inrpack" create --list "$tmp/big.tsv" -o "$tmp/z.inrpack" $fast
    check "--list label $big: refused before encoding, naming the line" \
        '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
         grep -q "big.tsv:2: label $big: a numeric label is a class number, 0..65534" "$tmp/err" &&
         [ ! -e "$tmp/z.inrpack" ] && [ ! -e "$tmp/z.inrpack.journal" ]'
done
printf 'src/zebra/img0.png\t007\nsrc/ant/img2.png\t0\n' >"$tmp/lead.tsv"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/lead.tsv" -o "$tmp/lead.inrpack" $fast -q
run "$inrpack" info "$tmp/lead.inrpack"
check "--list: a numeric label is its number (007 is class 7)" \
    'grep -q "2 images, 8 classes" "$tmp/out" && grep -q "class 7 *7: 1 images" "$tmp/out"'

# ------------------------------------------------- interruption and resume
# More work so that the run can be caught in the middle.
big="$tmp/big"
mkdir -p "$big/c0" "$big/c1"
for k in 0 1 2 3 4 5 6 7 8 9 10 11; do
    cp "$src/zebra/img0.png" "$big/c$((k % 2))/i$k.png"
done
slow="--effort 3 --preset cifar10 --jobs 1"
# shellcheck disable=SC2086
"$inrpack" create "$big" -o "$tmp/ref.inrpack" $slow -q 2>/dev/null
out="$tmp/r.inrpack"
# kill -9 once the journal holds at least one image
# shellcheck disable=SC2086
"$inrpack" create "$big" -o "$out" $slow -q 2>/dev/null &
pid=$!
wait_journal "$out.journal"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check "kill -9: a journal and no pack" '[ -s "$out.journal" ] && [ ! -e "$out" ]'
printf 'torn entry' >>"$out.journal"
# shellcheck disable=SC2086
run "$inrpack" create "$big" -o "$out" $slow --seed 7
check "resume: a journal of another job (other seed) is refused" \
    '[ "$rc" -eq 1 ] && grep -q "another job" "$tmp/err" && [ ! -e "$out" ]'
# shellcheck disable=SC2086
run "$inrpack" create "$big" -o "$out" $slow
check "resume: the same command finishes, reports the resumed images" \
    '[ "$rc" -eq 0 ] && grep -q "resuming: [1-9][0-9]* images already encoded" "$tmp/err" &&
     [ ! -e "$out.journal" ]'
check "resume: the pack equals an uninterrupted run (nothing lost or repeated)" \
    'cmp -s "$out" "$tmp/ref.inrpack"'
check "create: every image exact is said so, not as a mean of inf dB" \
    'grep -q "12 images (0 skipped), every image exact (lossless)" "$tmp/err" &&
     ! grep -q "inf dB" "$tmp/err"'
run "$inrpack" info "$out"
check "info: images without a PSNR are counted" \
    '[ "$rc" -eq 0 ] && grep -q "no PSNR      12 images (exact, or not recorded)" "$tmp/out" &&
     ! grep -q "inf" "$tmp/out"'
run "$inrpack" info --json "$out"
check "info --json: no PSNR is null, not inf" \
    '[ "$rc" -eq 0 ] && grep -q "\"psnr_mean\": null, \"psnr_min\": null" "$tmp/out"'

# Resuming from another folder's journal (same names, other pictures): the
# entries are keyed by the bytes of their sources, so none is taken.
big2="$tmp/big2"
mkdir -p "$big2/c0" "$big2/c1"
for k in 0 1 2 3 4 5 6 7 8 9 10 11; do
    cp "$src/mole/img4.png" "$big2/c$((k % 2))/i$k.png"
done
# shellcheck disable=SC2086
"$inrpack" create "$big2" -o "$tmp/ref2.inrpack" $slow -q 2>/dev/null
rm -f "$out"
# shellcheck disable=SC2086
"$inrpack" create "$big" -o "$out" $slow -q 2>/dev/null &
pid=$!
wait_journal "$out.journal"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
# shellcheck disable=SC2086
run "$inrpack" create "$big2" -o "$out" $slow
check "resume from another folder: its entries are encoded again, and it says so" \
    '[ "$rc" -eq 0 ] && grep -q "images encoded from files that have changed since" "$tmp/err" &&
     ! grep -q "resuming:" "$tmp/err"'
check "resume from another folder: the pack equals an uninterrupted run on the new folder" \
    'cmp -s "$out" "$tmp/ref2.inrpack"'

rm -f "$out"
# shellcheck disable=SC2086
"$inrpack" create "$big" -o "$out" $slow 2>"$tmp/err" &
pid=$!
wait_journal "$out.journal"
kill -INT $pid
wait $pid
rc=$?
check "Ctrl-C: exit 1, says how to resume, journal kept, no pack" \
    '[ "$rc" -eq 1 ] && grep -q "interrupted: .* run the same command again to resume" "$tmp/err" &&
     [ -s "$out.journal" ] && [ ! -e "$out" ]'
rm -f "$out.journal"

# Two runs into one output: the second finds the journal locked (here by
# flock(1), as a running job holds it) and stops at once.
two="$tmp/two"
mkdir -p "$two/x"
cp "$src/ant/img2.png" "$src/mole/img4.png" "$two/x/"
if command -v flock >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    run flock -n "$tmp/lk.inrpack.journal" "$inrpack" create "$two" -o "$tmp/lk.inrpack" $fast
    check "create: a journal that another job holds is refused at once, in one line" \
        '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
         grep -q "lk.inrpack.journal: another job holds this journal" "$tmp/err" &&
         [ ! -e "$tmp/lk.inrpack" ] && [ ! -s "$tmp/lk.inrpack.journal" ]'
fi

# Temporary files of a killed write of the output: removed by the next run,
# which holds the output's lock, and named; other names are left alone.
: >"$tmp/two.inrpack.tmp-Ab12Cd"
: >"$tmp/two.inrpack.tmp-kept"
# shellcheck disable=SC2086
run "$inrpack" create "$two" -o "$tmp/two.inrpack" $fast
check "create: a stale temporary file of the output is removed and named" \
    '[ "$rc" -eq 0 ] && [ ! -e "$tmp/two.inrpack.tmp-Ab12Cd" ] && [ -e "$tmp/two.inrpack.tmp-kept" ] &&
     grep -q "removed .*two.inrpack.tmp-Ab12Cd, a temporary file left by an interrupted run" "$tmp/err"'

# An empty shard is a valid pack (spec 3.3), and merges.
for i in 0 1 2 3; do
    # shellcheck disable=SC2086
    "$inrpack" create "$two" -o "$tmp/e$i.inrpack" $fast --shard "$i/4" -q 2>"$tmp/err" ||
        fail "create --shard $i/4 of two images"
done
run "$inrpack" info "$tmp/e3.inrpack"
check "create --shard 3/4 of two images: an empty pack with the class table" \
    '[ "$rc" -eq 0 ] && grep -q "0 images, 1 classes, 3 channels" "$tmp/out" &&
     [ ! -e "$tmp/e3.inrpack.journal" ]'
run "$inrpack" merge "$tmp/e3.inrpack" "$tmp/e1.inrpack" "$tmp/e2.inrpack" "$tmp/e0.inrpack" \
    -o "$tmp/em.inrpack"
check "merge with empty shards equals the single run, byte for byte" \
    '[ "$rc" -eq 0 ] && cmp -s "$tmp/two.inrpack" "$tmp/em.inrpack"'
# shellcheck disable=SC2086
"$inrpack" create "$two" -o "$tmp/g3.inrpack" $fast --shard 3/4 --channels 1 -q 2>/dev/null
run "$inrpack" info "$tmp/g3.inrpack"
check "an empty grey shard has one channel" '[ "$rc" -eq 0 ] && grep -q "0 images, 1 classes, 1 channel$" "$tmp/out"'
run "$inrpack" merge "$tmp/g3.inrpack" "$tmp/g3.inrpack" -o "$tmp/gm.inrpack"
run "$inrpack" info "$tmp/gm.inrpack"
check "merge of empty grey shards: an empty grey pack" '[ "$rc" -eq 0 ] && grep -q "0 images, 1 classes, 1 channel$" "$tmp/out"'

# --device cuda: a pack that verifies, or (no GPU, no CUDA build) a
# one-line error and no pack
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/gpu.inrpack" $fast --device cuda -q
check "create --device cuda: a pack, or a clear error" \
    '{ [ "$rc" -eq 0 ] && "$inrpack" verify -q "$tmp/gpu.inrpack"; } ||
     { [ "$rc" -eq 1 ] && grep -q "^inrpack: --device cuda: " "$tmp/err" &&
       [ ! -e "$tmp/gpu.inrpack" ]; }'
rm -f "$tmp/gpu.inrpack.journal"

# ----------------------------------------------------------- bad sources
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/strict.inrpack" $fast --strict
check "--strict: an unreadable file is fatal, named, no pack" \
    '[ "$rc" -eq 1 ] && grep -q "notes.txt" "$tmp/err" && [ ! -e "$tmp/strict.inrpack" ]'
rm -f "$tmp/strict.inrpack.journal"
mkdir -p "$tmp/text/a"
echo "not an image" >"$tmp/text/a/notes.txt"
# shellcheck disable=SC2086
run "$inrpack" create "$tmp/text" -o "$tmp/t.inrpack" $fast
check "create: nothing readable fails and leaves no empty journal" \
    '[ "$rc" -eq 1 ] && grep -q "no image could be read" "$tmp/err" && [ ! -e "$tmp/t.inrpack" ] &&
     [ ! -e "$tmp/t.inrpack.journal" ]'
printf 'src/zebra/img0.png\tstriped\nsrc/ant/img2.png\tan/t\n' >"$tmp/slash.tsv"
# shellcheck disable=SC2086
run "$inrpack" create --list "$tmp/slash.tsv" -o "$tmp/s.inrpack" $fast
check "create: an invalid class name is refused before encoding, in one line naming the list" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
     grep -q "slash.tsv: class 0: name \"an/t\" not allowed" "$tmp/err" &&
     [ ! -e "$tmp/s.inrpack.journal" ]'
mkdir -p "$tmp/dir.inrpack"
# shellcheck disable=SC2086
run "$inrpack" create "$src" -o "$tmp/dir.inrpack" $fast
check "create: a folder as output is refused before encoding" \
    '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "dir.inrpack: is a directory" "$tmp/err" &&
     [ ! -e "$tmp/dir.inrpack.journal" ]'
# Two jobs that hit the same full disk (here the file size limit) say so once.
# shellcheck disable=SC2086
run sh -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' sh "$inrpack" create "$src" -o "$tmp/f.inrpack" $fast --jobs 2
check "create: a write error of several jobs is one line, and no empty journal is left" \
    '[ "$rc" -eq 1 ] && [ "$(grep -c "f.inrpack.journal: File too large" "$tmp/err")" -eq 1 ] &&
     [ ! -e "$tmp/f.inrpack.journal" ] && [ ! -e "$tmp/f.inrpack" ]'
mkdir -p "$tmp/empty"
run "$inrpack" create "$tmp/empty" -o "$tmp/e.inrpack"
check "create: a folder without classes fails" '[ "$rc" -eq 1 ] && grep -q "no class folders" "$tmp/err"'
run "$inrpack" create "$tmp/nowhere" -o "$tmp/e.inrpack"
check "create: a missing folder fails" '[ "$rc" -eq 1 ] && grep -q "nowhere" "$tmp/err"'

# ----------------------------------------------------------- corrupt packs
size=$(wc -c <"$pack")
cp "$pack" "$tmp/c.inrpack"
# a byte in the last record (the records are at the end)
printf '\377' | dd of="$tmp/c.inrpack" bs=1 seek=$((size - 80)) conv=notrunc 2>/dev/null
run "$inrpack" verify "$tmp/c.inrpack"
check "verify names a damaged record" \
    '[ "$rc" -eq 1 ] && grep -q "record 7 (class zebra" "$tmp/err" && grep -q "1 of 8 records bad" "$tmp/err"'
run "$inrpack" info "$tmp/c.inrpack"
check "info names a damaged record, exit 1, and still describes the pack" \
    '[ "$rc" -eq 1 ] && grep -q "record 7" "$tmp/err" && grep -q "bad records  1: 7" "$tmp/out" &&
     grep -q "$images images, 3 classes" "$tmp/out"'
cp "$pack" "$tmp/h.inrpack"
printf '\001' | dd of="$tmp/h.inrpack" bs=1 seek=13 conv=notrunc 2>/dev/null
run "$inrpack" verify "$tmp/h.inrpack"
check "verify: a damaged header" '[ "$rc" -eq 1 ] && grep -q "header: checksum mismatch" "$tmp/err"'
head -c $((size / 2)) "$pack" >"$tmp/t.inrpack"
run "$inrpack" info "$tmp/t.inrpack"
check "info: a truncated pack" '[ "$rc" -eq 1 ] && grep -q "truncated" "$tmp/err"'
run "$top_builddir/tools/inrinfo" "$pack"
check "inrinfo on a pack points to inrpack info" '[ "$rc" -eq 1 ] && grep -q "use .inrpack info." "$tmp/err"'
run "$inrpack" verify "$golden"
check "verify: not a pack" '[ "$rc" -eq 1 ] && grep -q "not an .inrpack file" "$tmp/err"'

# ------------------------------------------------------------ usage errors
check "no command: exit 2" 'inrpack_usage "$inrpack"'
check "unknown command: exit 2" 'inrpack_usage "$inrpack" pack "$src"'
check "create without -o: exit 2" 'inrpack_usage "$inrpack" create "$src"'
check "create with SRC and --list: exit 2" 'inrpack_usage "$inrpack" create "$src" --list "$tmp/l.tsv" -o "$tmp/u.inrpack"'
check "create --shard 3/3: exit 2" 'inrpack_usage "$inrpack" create "$src" -o "$tmp/u.inrpack" --shard 3/3'
check "create --channels 2: exit 2" 'inrpack_usage "$inrpack" create "$src" -o "$tmp/u.inrpack" --channels 2'
check "create --device tpu: exit 2" 'inrpack_usage "$inrpack" create "$src" -o "$tmp/u.inrpack" --device tpu'
check "create --effort 0: exit 2" 'inrpack_usage "$inrpack" create "$src" -o "$tmp/u.inrpack" --effort 0'
check "extract without -o: exit 2" 'inrpack_usage "$inrpack" extract "$pack"'
check "extract --threads -1: exit 2" 'inrpack_usage "$inrpack" extract "$pack" -o "$tmp/u" --threads -1'
check "extract index out of range: exit 2" 'inrpack_usage "$inrpack" extract "$pack" 8 -o "$tmp/u"'
check "usage errors write nothing" '[ ! -e "$tmp/u.inrpack" ] && [ ! -e "$tmp/u" ]'
run "$inrpack" --version
check "--version" '[ "$rc" -eq 0 ] && grep -q "^inrpack (inrf) " "$tmp/out"'
run "$inrpack" create --help
check "create --help" '[ "$rc" -eq 0 ] && grep -q "^Usage: inrpack create" "$tmp/out"'

finish

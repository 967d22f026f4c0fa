#!/bin/sh
# test_gpu_tools_emu.sh: the tools' --device cuda paths (inrdec, inrenc,
# inrpack create) built with the CUDA kernels run by the emulator
# (kernels/emu, tests/emu/*): the GPU decode's PNG is the CPU's byte for
# byte, GPU-encoded files and packs validate and are deterministic (shards
# merge into the single run, a killed run resumes into it, a CPU run does
# not take over its journal), and rate control holds. Run by `make check`
# on every machine.
#
# shellcheck disable=SC2016 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
emu="$top_builddir/tests/emu"
inrinfo="$top_builddir/tools/inrinfo"
inrpack="$top_builddir/tools/inrpack"
golden="$top_srcdir/tests/golden"

if [ ! -f "$golden/cifar.inrf" ]; then
    echo "SKIP: no golden files"
    exit 77
fi
. "$top_srcdir/tests/testlib.sh" test_gpu_tools_emu

# ------------------------------------------------------------------ decode
# every decode kernel variant the golden files reach (3x15 RGB, 10x40 RGB,
# grey 4 layers), at sizes that do not divide the block
for name in cifar imagenet grey; do
    for size in 16 45; do
        run "$emu/inrdec" -f --device cuda --size "$size" "$golden/$name.inrf" -o "$tmp/g.png"
        gpu_rc=$rc
        run "$emu/inrdec" -f --device cpu --size "$size" "$golden/$name.inrf" -o "$tmp/c.png"
        check "inrdec --device cuda $name at $size: the CPU's PNG byte for byte" \
            '[ "$gpu_rc" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s "$tmp/g.png" "$tmp/c.png"'
    done
done

# ------------------------------------------------------------------ encode
src="$tmp/src.png"
"$emu/inrdec" --size 16 "$golden/cifar.inrf" -o "$src" 2>"$tmp/err" || fail "making the source"
run "$emu/inrenc" --device cuda --effort 1 "$src" "$tmp/g.inrf"
check "inrenc --device cuda: a file that validates" \
    '[ "$rc" -eq 0 ] && "$inrinfo" -q "$tmp/g.inrf"'
run "$emu/inrenc" --device cuda --effort 1 "$src" "$tmp/g2.inrf"
check "inrenc --device cuda: the same bytes twice" '[ "$rc" -eq 0 ] && cmp -s "$tmp/g.inrf" "$tmp/g2.inrf"'
full=$(wc -c <"$tmp/g.inrf")
limit=$((full * 9 / 10))
run "$emu/inrenc" --device cuda --effort 1 --max-bytes "$limit" "$src" "$tmp/small.inrf"
check "inrenc --device cuda --max-bytes $limit (of $full): a file that fits" \
    '[ "$rc" -eq 0 ] && [ "$(wc -c <"$tmp/small.inrf")" -le "$limit" ] &&
     "$inrinfo" -q "$tmp/small.inrf"'
run "$emu/inrenc" --device cuda --effort 1 --max-bytes 100 "$src" "$tmp/none.inrf"
check "inrenc --device cuda --max-bytes 100: exit 1, one line, no file" \
    '[ "$rc" -eq 1 ] && [ "$(grep -c "^inrenc: " "$tmp/err")" -eq 1 ] &&
     grep -q "cannot fit" "$tmp/err" && [ ! -e "$tmp/none.inrf" ]'

# -------------------------------------------------------------------- pack
# two classes, two image sizes (the GPU path groups images by size)
mkdir -p "$tmp/set/cat" "$tmp/set/dog"
n=0
for spec in cat:16,0 cat:16,5 cat:12,3 dog:16,9 dog:12,0; do
    class=${spec%%:*}
    geom=${spec#*:}
    side=${geom%,*}
    off=${geom#*,}
    "$emu/inrdec" --size 32 --crop "$off,$off,$side,$side" "$golden/cifar.inrf" \
        -o "$tmp/set/$class/$n.png" 2>"$tmp/err" || fail "making source image $n"
    n=$((n + 1))
done
run "$emu/inrpack" create --device cuda --effort 1 --preset cifar10 "$tmp/set" -o "$tmp/g.inrpack"
check "inrpack create --device cuda: exit 0, no journal left" \
    '[ "$rc" -eq 0 ] && [ -s "$tmp/g.inrpack" ] && [ ! -e "$tmp/g.inrpack.journal" ]'
run "$inrpack" verify "$tmp/g.inrpack"
check "the GPU's pack verifies" '[ "$rc" -eq 0 ]'
run "$inrpack" info "$tmp/g.inrpack"
check "the GPU's pack: 5 images, 2 classes" \
    '[ "$rc" -eq 0 ] && grep -q "5 images, 2 classes" "$tmp/out"'
run "$emu/inrpack" create --device cuda --effort 1 --preset cifar10 "$tmp/set" -o "$tmp/g2.inrpack"
check "inrpack create --device cuda: the same bytes twice" \
    '[ "$rc" -eq 0 ] && cmp -s "$tmp/g.inrpack" "$tmp/g2.inrpack"'
for i in 0 1; do
    "$emu/inrpack" create --device cuda --effort 1 --preset cifar10 "$tmp/set" \
        -o "$tmp/s$i.inrpack" --shard "$i/2" -q 2>"$tmp/err" || fail "create --shard $i/2"
done
run "$inrpack" merge "$tmp/s1.inrpack" "$tmp/s0.inrpack" -o "$tmp/m.inrpack"
check "two GPU shards merged equal the single GPU run, byte for byte" \
    '[ "$rc" -eq 0 ] && cmp -s "$tmp/m.inrpack" "$tmp/g.inrpack"'
# kill -9 once the journal holds the first size group's images: a CPU run
# refuses the GPU's journal, a GPU run resumes it into the uninterrupted pack
for k in 5 6 7; do
    cp "$tmp/set/dog/4.png" "$tmp/set/dog/more$k.png"
done
gpu="--device cuda --effort 1 --preset cifar10"
# shellcheck disable=SC2086
"$emu/inrpack" create $gpu "$tmp/set" -o "$tmp/ref.inrpack" -q 2>/dev/null ||
    fail "create the reference"
out="$tmp/r.inrpack"
# shellcheck disable=SC2086
"$emu/inrpack" create $gpu "$tmp/set" -o "$out" -q 2>/dev/null &
pid=$!
wait_journal "$out.journal" 300 # sanitizer builds emulate slowly
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check "kill -9 of a GPU run: a journal and no pack" '[ -s "$out.journal" ] && [ ! -e "$out" ]'
run "$emu/inrpack" create --device cpu --effort 1 --preset cifar10 "$tmp/set" -o "$out"
check "a CPU run refuses the GPU run's journal" \
    '[ "$rc" -eq 1 ] && grep -q "another job" "$tmp/err" && [ ! -e "$out" ]'
# shellcheck disable=SC2086
run "$emu/inrpack" create $gpu "$tmp/set" -o "$out"
check "the GPU run resumes into the uninterrupted pack" \
    '[ "$rc" -eq 0 ] && grep -q "resuming: [1-9][0-9]* images already encoded" "$tmp/err" &&
     cmp -s "$out" "$tmp/ref.inrpack"'

run "$inrpack" extract "$tmp/g.inrpack" -o "$tmp/x" --size 16
check "the GPU's pack extracts to PNG" '[ "$rc" -eq 0 ] && [ -s "$tmp/x/cat/000000.png" ] && [ -s "$tmp/x/dog/000004.png" ]'

finish

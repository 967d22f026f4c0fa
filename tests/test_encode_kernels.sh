#!/bin/sh
# test_encode_kernels.sh: the encoder's bytes depend only on the input, the
# options and the seed: the same file for --threads 1 to 4 and for every
# CPU kernel this machine runs (INRF_KERNEL, read once per process, so one
# process each); and the decoder's suite once per kernel. Run by `make
# check`; encodes tiny images at --effort 1 to stay fast.
#
# Needs top_srcdir and top_builddir (set by the Makefile).
#
# shellcheck disable=SC2016 # check conditions: single-quoted, run by eval

: "${top_srcdir:=.}"
: "${top_builddir:=.}"
inrdec="$top_builddir/tools/inrdec"
inrenc="$top_builddir/tools/inrenc"
golden="$top_srcdir/tests/golden"

for t in "$inrdec" "$inrenc"; do
    if [ ! -x "$t" ]; then
        echo "FAIL: $t is not built"
        exit 1
    fi
done

. "$top_srcdir/tests/testlib.sh" test_encode_kernels

# The kernels this CPU runs: those that --version names when asked for.
kernels=
for k in generic avx2 avx512; do
    if INRF_KERNEL=$k "$inrenc" --version | grep -q "decode kernel $k\$"; then
        kernels="$kernels $k"
    fi
done
echo "kernels: $kernels"

# Sources: an 8x8 image (one chunk of pixels, the cifar10 network; the
# portable kernel is slow) and a 40x32 one trained by a 4 x 40 network (two
# chunks a step, run on several threads when there are: the chunks' sums
# in order).
"$inrdec" --size 8x8 "$golden/cifar.inrf" -o "$tmp/small.png" 2>"$tmp/err" &&
    "$inrdec" --size 40x32 "$golden/imagenet.inrf" -o "$tmp/large.png" 2>>"$tmp/err" ||
    fail "making the source images"

# encode NAME OPTIONS...: every kernel and thread count; the same bytes.
runs=0
encode() {
    name=$1
    shift
    runs=$((runs + 1))
    first=
    for k in $kernels; do
        for t in 1 2 3 4; do
            out="$tmp/$runs-$name-$k-$t.inrf"
            # shellcheck disable=SC2086
            if ! INRF_KERNEL=$k "$inrenc" -q "$@" --threads $t "$tmp/$name.png" "$out" \
                2>"$tmp/err"; then
                fail "$name: kernel $k, $t threads: inrenc failed"
                continue
            fi
            if [ -z "$first" ]; then
                first=$out
            else
                check "$name: kernel $k, $t threads: the bytes of ${first##*/}" \
                    'cmp -s "$first" "$out"'
            fi
        done
    done
}

encode small --effort 1
encode large --layers 4 --hidden 40 --steps 4
encode small --effort 1 --target-psnr 30 --seed 5
# random batches of pixels (the sampler) and a qat stage (fake quantisation)
encode large --batch 1000 --qat --steps 4 --layers 4 --hidden 40

# The decoder's bit-exactness suite, once per kernel (each process picks
# its kernel once).
if [ -x "$top_builddir/tests/test_decode" ]; then # built with cmocka
    for k in $kernels; do
        INRF_KERNEL=$k "$top_builddir/tests/test_decode" >"$tmp/out" 2>&1
        check "test_decode with INRF_KERNEL=$k" '[ $? -eq 0 ]'
    done
fi

finish

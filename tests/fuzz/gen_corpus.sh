#!/bin/sh
# gen_corpus.sh: regenerates the seed files of the image, checkpoint and
# journal harnesses from what the tools write: tiny PNGs and JPEGs of every
# layout (gen_image_seeds.c), a checkpoint and a model file of a tiny
# inrtrain run, and the journals of an interrupted `inrpack create`. Run in
# a built tree (after make); never run by the build, the seeds are kept in
# the repository with what libFuzzer found. Files keep their names, so
# rerunning replaces the seeds and leaves the found inputs.
#
# Usage: sh tests/fuzz/gen_corpus.sh [BUILDDIR]   (default .)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}
inrdec="$build/tools/inrdec"
inrpack="$build/tools/inrpack"
inrtrain="$build/trainer/inrtrain"
golden="$here/../golden/cifar.inrf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- images: every layout the reader converts
mkdir -p "$here/corpus_image"
# shellcheck disable=SC2046 # pkg-config's flags are words
${CC:-cc} -O1 -o "$tmp/gen" "$here/gen_image_seeds.c" $(pkg-config --cflags --libs libpng) -ljpeg
"$tmp/gen" "$here/corpus_image"
"$inrdec" --size 16 "$golden" -o "$here/corpus_image/inrdec.png"
"$inrdec" --size 16 "$golden" -o "$here/corpus_image/inrdec.jpg"

# ---- a tiny ImageFolder: two classes of three images
src="$tmp/src"
mkdir -p "$src/cars" "$src/dots"
for k in 0 1 2; do
    "$inrdec" --size 12 --crop "$k,$k,8,8" "$golden" -o "$src/cars/c$k.png"
    "$inrdec" --size 12 --crop "$k,0,8,8" "$golden" -o "$src/dots/d$k.png"
done

# ---- checkpoints: width 1 keeps them small (~25 KB)
mkdir -p "$here/corpus_checkpoint"
"$inrpack" create "$src" -o "$tmp/train.inrpack" --effort 1 --preset cifar10 -q
"$inrtrain" --train "$tmp/train.inrpack" --epochs 2 --width 1 --batch 2 --size 8 --threads 1 \
    -q -o "$tmp/m.model" --checkpoint "$tmp/m.ckpt"
cp "$tmp/m.ckpt" "$here/corpus_checkpoint/width1.ckpt"
cp "$tmp/m.model" "$here/corpus_checkpoint/width1.model"

# ---- journals: kill -9 once one image is journaled (at effort 3 an image
# takes a while), then the same file cut to its header and to a torn tail
mkdir -p "$here/corpus_journal"
"$inrpack" create "$src" -o "$tmp/j.inrpack" --effort 3 --preset cifar10 --jobs 1 -q &
pid=$!
n=0
while [ "$(wc -c <"$tmp/j.inrpack.journal" 2>/dev/null || echo 0)" -lt 200 ] && [ $n -lt 600 ]; do
    sleep 0.05
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
j="$here/corpus_journal"
cp "$tmp/j.inrpack.journal" "$j/killed.journal"
head -c 24 "$tmp/j.inrpack.journal" >"$j/header.journal"
{ cat "$tmp/j.inrpack.journal"; printf 'torn entry'; } >"$j/torn.journal"
ls -l "$here/corpus_image" "$here/corpus_checkpoint" "$here/corpus_journal"

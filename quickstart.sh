#!/bin/sh
# quickstart.sh: installs what is missing, builds inrf, encodes a photo
# (scikit-image's public-domain astronaut, 512x512) with inrenc, compares it
# with a JPEG of the same size, and decodes it at two sizes; then packs
# 1,000 labelled Fashion-MNIST training images and 500 test images (Debian's
# dataset-fashion-mnist) into .inrpack files, verifies one, decodes a few
# back, trains ResNet-18 from the packs for a few epochs on the CPU, and
# plots its training curves (inrtrain-plot, gnuplot). Everything goes to
# out/; a rerun removes what an earlier one wrote there first. Run from the
# source folder.
set -eu
sh .ci/install-deps
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" --no-print-directory
mkdir -p out
# the tools refuse to overwrite their outputs: start again
rm -rf out/astronaut.inrf out/astronaut.json out/astronaut-512.png out/astronaut-1024.png \
    out/fashion out/fashion.inrpack out/fashion-decoded out/fashion-test out/fashion-test.inrpack \
    out/fashion.model out/fashion.model.ckpt out/fashion-train.jsonl out/fashion-train.png

photo=$(dpkg -L python3-skimage | grep '/skimage/data/astronaut\.png$' | head -n 1)
if [ -z "$photo" ] || [ ! -f "$photo" ]; then
    echo "quickstart: astronaut.png not found in python3-skimage" >&2
    exit 1
fi

# The default schedule (--effort 5: 10,000 steps of 4,096 pixels) takes a
# few minutes on two cores; --effort 2 with 2,048-pixel steps takes about
# half a minute. The summary and the JPEG at the same byte budget are
# printed on stderr, the statistics kept as JSON.
./tools/inrenc --effort 2 --batch 2048 --compare-jpeg --stats json \
    "$photo" out/astronaut.inrf >out/astronaut.json
./tools/inrinfo out/astronaut.inrf
./tools/inrdec -v out/astronaut.inrf -o out/astronaut-512.png
./tools/inrdec -v --scale 2 out/astronaut.inrf -o out/astronaut-1024.png

# A labelled dataset in one file: 100 training images of each of the 10
# Fashion-MNIST classes, as an ImageFolder of PNGs, packed on all cores.
fm=/usr/share/datasets/fashion-mnist
python3 bench/idx_to_folder.py "$fm/train-images-idx3-ubyte.gz" "$fm/train-labels-idx1-ubyte.gz" \
    out/fashion --per-class 100
./tools/inrpack create out/fashion -o out/fashion.inrpack --channels 1 --effort 1
./tools/inrpack info out/fashion.inrpack
./tools/inrpack verify out/fashion.inrpack
./tools/inrpack extract out/fashion.inrpack 0 100 200 -o out/fashion-decoded --size 112

# ResNet-18 (half width, to keep this quick) trained from the pack, tested
# on 500 test images, then asked about three of them.
python3 bench/idx_to_folder.py "$fm/t10k-images-idx3-ubyte.gz" "$fm/t10k-labels-idx1-ubyte.gz" \
    out/fashion-test --per-class 50
./tools/inrpack create out/fashion-test -o out/fashion-test.inrpack --channels 1 --effort 1 -q
./trainer/inrtrain --train out/fashion.inrpack --test out/fashion-test.inrpack --epochs 4 \
    --width 32 --lr 0.05 -o out/fashion.model --log out/fashion-train.jsonl
./trainer/inrtrain --predict out/fashion.model out/fashion-test/Bag/00018.png \
    out/fashion-test/Sneaker/00009.png out/fashion-test/Trouser/00002.png
# The curves: a failure here (no gnuplot: .ci/install-deps installs it)
# stops the quick start with inrtrain-plot's message.
if ! ./trainer/inrtrain-plot out/fashion-train.jsonl out/fashion-train.png; then
    echo "quickstart: the training curves could not be plotted (see above)" >&2
    exit 1
fi
echo "quickstart: the training curves are in out/fashion-train.png"
echo "quickstart: the .inrf file, decoded images, the packs, the model and its log are in out/"

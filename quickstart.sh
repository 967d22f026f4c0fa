#!/bin/sh
# quickstart.sh: installs what is missing, builds inrf, encodes a photo
# (scikit-image's public-domain astronaut, 512x512) with inrenc, compares it
# with a JPEG of the same size, and decodes it at two sizes; then packs
# 1,000 labelled Fashion-MNIST images (Debian's dataset-fashion-mnist) into
# one .inrpack, verifies it and decodes a few back. Everything goes to out/.
# Run from the source folder.
set -eu
sh .ci/install-deps
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" --no-print-directory
mkdir -p out

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
rm -rf out/fashion
python3 bench/idx_to_folder.py "$fm/train-images-idx3-ubyte.gz" "$fm/train-labels-idx1-ubyte.gz" \
    out/fashion --per-class 100
./tools/inrpack create out/fashion -o out/fashion.inrpack --channels 1 --effort 1
./tools/inrpack info out/fashion.inrpack
./tools/inrpack verify out/fashion.inrpack
./tools/inrpack extract out/fashion.inrpack 0 100 200 -o out/fashion-decoded --size 112
echo "quickstart: the .inrf file, its statistics, decoded images and the pack are in out/"

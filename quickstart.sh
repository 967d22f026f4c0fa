#!/bin/sh
# quickstart.sh: installs what is missing, builds inrf, encodes a photo
# (scikit-image's public-domain astronaut, 512x512) with inrenc, compares it
# with a JPEG of the same size, and decodes it at two sizes into out/. Run
# from the source folder.
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
echo "quickstart: the .inrf file, its statistics and decoded images are in out/"

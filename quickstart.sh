#!/bin/sh
# quickstart.sh: installs what is missing, builds inrf, and decodes one of
# the project's own .inrf files at two sizes. Run from the source folder.
set -eu
sh .ci/install-deps
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" --no-print-directory
mkdir -p out
./tools/inrinfo tests/golden/cifar.inrf
./tools/inrdec -v tests/golden/cifar.inrf -o out/cifar-32.png
./tools/inrdec -v --size 224 tests/golden/cifar.inrf -o out/cifar-224.png
./tools/inrdec -v --size 224 --crop 56,56,112,112 tests/golden/cifar.inrf -o out/cifar-crop.png
echo "quickstart: decoded images are in out/"

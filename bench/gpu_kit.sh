#!/bin/sh
# gpu_kit.sh: builds gpu-kit/, a folder that runs the GPU tests and
# benchmarks on a machine with a GPU but no build tools (make gpu-kit).
# Usage: bench/gpu_kit.sh SRCDIR OUTDIR   (needs git, autotools, nvcc)
#
# A clean copy of the checkout is configured out of the way with
# --disable-shared (objects position-independent, for the Python package), our Debian libraries linked from their static archives
# and the CUDA runtime from cudart_static; what has no static archive
# (libgomp) is carried in lib/ and found through an
# $ORIGIN-relative rpath. cuDNN, cuBLAS and NCCL are too large to carry:
# run finds them in the GPU machine's PyTorch wheels.
set -eu
src=$(cd "${1:?usage: gpu_kit.sh SRCDIR OUTDIR}" && pwd)
kit=${2:?usage: gpu_kit.sh SRCDIR OUTDIR}
jobs=${GPU_KIT_JOBS:-2}
data=${INRF_DATA:-}
cifar_per_class=${GPU_KIT_CIFAR_PER_CLASS:-200}
imagenette=${GPU_KIT_IMAGENETTE:-1000}

nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[ -x "$nvcc" ] || { echo "gpu-kit: nvcc not found: the kit needs the CUDA toolkit" >&2; exit 1; }
cuda=$(dirname "$(dirname "$nvcc")")
multi=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
L=/usr/lib/$multi
# The static archive of a library, or its usual -l flag when Debian ships none.
static() { if [ -f "$L/$1" ]; then echo "$L/$1"; else echo "$2"; fi; }

git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
    { echo "gpu-kit: $src is not a git checkout (the kit builds a clean copy of one)" >&2; exit 1; }
rm -rf "$kit" "$kit.build"
mkdir -p "$kit"
kit=$(cd "$kit" && pwd)
work=$kit.build
mkdir -p "$work/src"
(cd "$src" && git ls-files -z | xargs -0 cp --parents -t "$work/src")
# gcc reads this file as options, so $ORIGIN reaches the linker unexpanded.
printf '%s\n' '-Wl,-rpath,$ORIGIN/../lib' >"$work/rpath.opt"
printf '%s\n' '-Wl,-rpath,$ORIGIN' >"$work/rpath1.opt"
printf '%s\n' '-Wl,-rpath,$ORIGIN/../../lib' >"$work/rpath2.opt"

cd "$work/src"
autoreconf -fi >/dev/null 2>&1
# inrtrain's CPU backend gets the reference BLAS (libblas-dev, with CBLAS):
# a static OpenBLAS, kernels for every CPU, would be half the kit, and the
# kit measures the GPU. Without it, OpenBLAS.
if [ -f "$L/blas/libblas.a" ] && [ -f "/usr/include/$multi/cblas-netlib.h" ]; then
    blas="$L/blas/libblas.a $(gcc -print-file-name=libgfortran.a) $(gcc -print-file-name=libquadmath.a)"
    mkdir "$work/blas" && ln -s "/usr/include/$multi/cblas-netlib.h" "$work/blas/cblas.h"
    export CBLAS_CFLAGS="-I$work/blas"
else
    blas=$(static openblas-pthread/libopenblas.a -lopenblas)
    case $blas in *.a) blas="$blas $(gcc -print-file-name=libgfortran.a) $(gcc -print-file-name=libquadmath.a) -lpthread" ;; esac
fi
png="$(static libpng16.a -lpng16) $(static libz.a -lz)"
zstd=$(static libzstd.a -lzstd)
turbojpeg=$(static libturbojpeg.a -lturbojpeg)
xxhash=$(static libxxhash.a -lxxhash)
PNG_LIBS=$png ZSTD_LIBS=$zstd TURBOJPEG_LIBS=$turbojpeg XXHASH_LIBS=$xxhash CBLAS_LIBS=$blas \
LDFLAGS="-static-libgcc @$work/rpath.opt" \
    ./configure --quiet --disable-shared --enable-static --with-pic --with-cuda="$cuda" >/dev/null
# A static libinrf.la forgets the archives it was given: every program gets
# them again at the end of its link line, after libinrf once more for the
# kernels, which come after it (libraries first, which must not get them).
libs="libinrf/.libs/libinrf.a $png $zstd $turbojpeg $xxhash -lm -lpthread -ldl"
grep -q '^NVCC = ..*' Makefile || { echo "gpu-kit: configure found no nvcc" >&2; exit 1; }

tools="tools/inrenc tools/inrdec tools/inrinfo tools/inrpack trainer/inrtrain"
benches="bench/gpu_decode bench/gpu_encode"
tests="tests/test_cuda_math tests/test_cuda_decode tests/test_cuda_encode"
stdcxx=$(g++ -print-file-name=libstdc++.a)
make -j"$jobs" libinrf/libinrf.la trainer/libtrainer.la
make -j"$jobs" $tools $benches $tests LIBS="$libs" \
    CUDA_LIBS="-L$cuda/lib64 -lcudart_static -ldl -lrt -lpthread $stdcxx" CUDA_RPATH= \
    NVCC="$nvcc -Xcompiler -static-libgcc,-static-libstdc++"

mkdir -p "$kit/bin" "$kit/bench" "$kit/tests" "$kit/lib" "$kit/data"
for t in $tools; do cp "$t" "$kit/bin/"; done
for t in $benches; do cp "$t" "$kit/bench/"; done
for t in $tests; do cp "$t" "$kit/tests/"; done
strip "$kit"/bin/* "$kit"/bench/* "$kit"/tests/*
cp "$src/bench/gpu_torch.py" "$kit/bench/"

# The Python package (inrf, inrf.torch) for the GPU machine's python3 and
# torch: the module is on CPython's stable ABI (built with this machine's
# headers, it loads in any Python 3.11 or later), linked to libinrf made
# shared from the static archive's position-independent objects; and
# libinrf_cuda shared, which the module opens at run time, with the CUDA
# runtime linked in and nothing exported but inrf/cuda.h (so that torch's
# own libcudart is neither used nor disturbed). Both in lib/, found through
# $ORIGIN run paths.
py=${PYTHON:-python3}
pyinc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null || true)
python_kit=""
if [ -n "$pyinc" ] && [ -f "$pyinc/Python.h" ]; then
    # the archive's objects (the static archives it was given sit in it too)
    mkdir "$work/libinrf.o" && (cd "$work/libinrf.o" && ar x "$work/src/libinrf/.libs/libinrf.a")
    gcc -shared -o "$kit/lib/libinrf.so.2" -Wl,-soname,libinrf.so.2 -Wl,--no-undefined \
        "$work"/libinrf.o/*.o -lpng16 -lz -lzstd -lturbojpeg -lxxhash -fopenmp -lm -lpthread \
        -static-libgcc @"$work/rpath1.opt"
    g++ -shared -o "$kit/lib/libinrf_cuda.so.2" -Wl,-soname,libinrf_cuda.so.2 -Wl,--no-undefined \
        kernels/.libs/decode_cu.o kernels/.libs/siren_decode_cu.o kernels/.libs/encode_cu.o \
        -L"$kit/lib" -l:libinrf.so.2 -L"$cuda/lib64" -lcudart_static -ldl -lrt -lpthread \
        -static-libstdc++ -static-libgcc -Wl,--version-script=tests/libinrf_cuda_emu.map \
        @"$work/rpath1.opt"
    mkdir -p "$kit/python/inrf" "$kit/python/tests" "$kit/examples"
    gcc -shared -fPIC -O2 -std=gnu11 -fvisibility=hidden -I"$pyinc" -Ilibinrf/include \
        -Ilibinrf/private -I. python/src/inrf/_inrf.c python/src/inrf/_loader.c \
        python/src/inrf/_cuda.c -o "$kit/python/inrf/_inrf.abi3.so" -L"$kit/lib" -l:libinrf.so.2 \
        -ldl -static-libgcc @"$work/rpath2.opt"
    cp python/src/inrf/*.py "$kit/python/inrf/"
    cp python/tests/conftest.py python/tests/test_torch.py python/tests/test_cuda_emu.py \
        "$kit/python/tests/"
    cp examples/train_resnet18.py "$kit/examples/"
    cp bench/torch_loader.py "$kit/bench/"
    strip --strip-unneeded "$kit/lib/libinrf.so.2" "$kit/lib/libinrf_cuda.so.2" \
        "$kit/python/inrf/_inrf.abi3.so"
    python_kit="$kit/lib/libinrf.so.2 $kit/lib/libinrf_cuda.so.2 $kit/python/inrf/_inrf.abi3.so"
else
    python_missing="no Python headers for $py (python3-dev): the kit has no Python package"
fi
cp "$src/bench/gpu_kit_run" "$kit/run"
chmod +x "$kit/run"

# Whatever is still linked dynamically, except the C library itself, is
# carried in lib/ (the rpath finds it there).
programs="$kit/bin/* $kit/bench/gpu_decode $kit/bench/gpu_encode $kit/tests/* $python_kit"
for f in $programs; do
    ! ldd "$f" | grep 'not found' >&2 || { echo "gpu-kit: $f lacks a library" >&2; exit 1; }
done
for f in $programs; do
    ldd "$f" | awk '$3 ~ /^\// {print $3}'
done | sort -u | while read -r so; do
    case $(basename "$so") in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;;
    libinrf.so*|libinrf_cuda.so*) ;; # the kit's own
    *) cp -L "$so" "$kit/lib/" ;;
    esac
done

# A data subset for the figures: CIFAR-10 training images (a share of each
# class) and the first test images of each class, and Imagenette JPEGs.
if [ -z "$data" ]; then
    for d in "$src/data" "$src/../shared/data" "$src/../../shared/data"; do
        [ -f "$d/cifar10-jpg.tar.zst" ] && { data=$d; break; }
    done
fi
missing=""
if [ -n "$data" ] && [ -f "$data/cifar10-jpg.tar.zst" ]; then
    mkdir "$work/cifar"
    zstd -dqc "$data/cifar10-jpg.tar.zst" | tar -x -C "$work/cifar"
    (cd "$work/cifar" &&
        { for c in train/*/; do find "$c" -name '*.jpg' | sort | head -n "$cifar_per_class"; done
          find test -name '000[0-9].jpg' | sort; } >list.txt &&
        tar -czf "$kit/data/cifar10.tar.gz" -T list.txt)
else missing="$missing cifar10-jpg.tar.zst"; fi
if [ -n "$data" ] && [ -f "$data/imagenette-train.tar.zst" ]; then
    mkdir "$work/imagenette"
    zstd -dqc "$data/imagenette-train.tar.zst" | tar -x -C "$work/imagenette"
    (cd "$work/imagenette" &&
        find train -iname '*.jpeg' | sort | awk -v n="$imagenette" 'NR <= n' >list.txt &&
        tar -czf "$kit/data/imagenette.tar.gz" -T list.txt)
else missing="$missing imagenette-train.tar.zst"; fi

glibc=$(for f in $programs "$kit"/lib/*; do
    objdump -T "$f"; done | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -n 1)
{
    echo "inrf gpu-kit, $(cd "$src" && git describe --always --dirty 2>/dev/null || echo unknown)," \
        "built $(date -u +%Y-%m-%dT%H:%MZ) with $($nvcc --version | tail -n 1)"
    echo "needs: Linux x86_64, ${glibc:-GLIBC} or newer, an NVIDIA driver for CUDA $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') or newer"
    echo "carried libraries: $(cd "$kit/lib" && ls | tr '\n' ' ')"
    [ -z "$missing" ] || echo "data missing (not found on the building machine):$missing"
    [ -z "${python_missing:-}" ] || echo "$python_missing"
    echo "size: $(du -sh "$kit" | cut -f1)"
} >"$kit/MANIFEST"
rm -rf "$work"
cat "$kit/MANIFEST"
# What travels to a GPU machine is limited (64 MiB with the command's files).
mib=$(du -sm "$kit" | cut -f1)
[ "$mib" -le 60 ] || { echo "gpu-kit: $mib MiB, over the 60 MiB a GPU machine takes" >&2; exit 1; }

#!/bin/sh
# test_python.sh: the Python package's tests (python/tests) under pytest,
# with the interpreter configure chose (INRF_PYTHON) and the module staged
# in python/stage; 77 (skipped) where no Python was configured, or pytest
# is missing. The tests find the build through INRF_TEST_BUILD, and the
# emulated libinrf_cuda (tests/.libs/libinrf_cuda_emu.so) through
# INRF_TEST_CUDA_EMU when it was built.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
py=${INRF_PYTHON-}
if [ -z "$py" ]; then
    echo "test_python.sh: no Python configured (configure --with-python; it is off with" \
        "sanitizers and --disable-shared)"
    exit 77
fi
build=$(cd "$top_builddir" && pwd)
src=$(cd "$top_srcdir" && pwd)
if [ ! -f "$build/python/stage/inrf/_inrf.abi3.so" ]; then
    echo "test_python.sh: $build/python/stage/inrf/_inrf.abi3.so was not built"
    exit 1
fi
if ! "$py" -c "import pytest" 2>/dev/null; then
    echo "test_python.sh: $py has no pytest (Debian: python3-pytest)"
    exit 77
fi
INRF_TEST_BUILD=$build
PYTHONPATH=$build/python/stage${PYTHONPATH:+:$PYTHONPATH}
# libinrf of this build, before any installed one
LD_LIBRARY_PATH=$build/libinrf/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# no __pycache__ or .pytest_cache in the sources (read-only under distcheck)
PYTHONDONTWRITEBYTECODE=1
export INRF_TEST_BUILD PYTHONPATH LD_LIBRARY_PATH PYTHONDONTWRITEBYTECODE
unset INRF_TEST_CUDA_EMU
if [ -f "$build/tests/.libs/libinrf_cuda_emu.so" ]; then
    INRF_TEST_CUDA_EMU=$build/tests/.libs/libinrf_cuda_emu.so
    export INRF_TEST_CUDA_EMU
fi
cd "$build" || exit 1
exec "$py" -m pytest -q -p no:cacheprovider --rootdir="$src/python/tests" "$src/python/tests"

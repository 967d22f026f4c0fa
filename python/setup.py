"""setup.py: the extension module inrf._inrf for pip install ./python.

It is built on CPython's stable ABI (one wheel, cp311-abi3, serves 3.11 and
later) against the libinrf that pkg-config finds (PKG_CONFIG_PATH for one in
another prefix), whose library folder is recorded as the module's run path.
Where pkg-config also finds libinrf-cuda, its library folder is baked in
(INRFPY_CUDA_LIBDIR) for _cuda.c, which loads libinrf_cuda at first use."""

import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def pkg_config(*args):
    """pkg-config's answer as a list of words, or None when it fails."""
    try:
        out = subprocess.run(["pkg-config"] + list(args), check=True, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        return None, err.strip()
    return shlex.split(out), ""


flags, err = pkg_config("--cflags", "--libs", "libinrf")
if flags is None:
    sys.exit("inrf: pkg-config cannot find libinrf (%s). Install libinrf (make install in the "
             "inrf sources) and set PKG_CONFIG_PATH to its lib/pkgconfig folder." % err)

include_dirs, library_dirs, libraries, extra = [], [], [], []
for f in flags:
    if f.startswith("-I"):
        include_dirs.append(f[2:])
    elif f.startswith("-L"):
        library_dirs.append(f[2:])
    elif f.startswith("-l"):
        libraries.append(f[2:])
    else:
        extra.append(f)

macros = [("Py_LIMITED_API", "0x030B0000")]
cuda_libdir, _ = pkg_config("--variable=libdir", "libinrf-cuda")
if cuda_libdir:
    macros.append(("INRFPY_CUDA_LIBDIR", '"%s"' % cuda_libdir[0]))

src = os.path.join("src", "inrf")
module = Extension(
    "inrf._inrf",
    sources=[os.path.join(src, f) for f in ("_inrf.c", "_loader.c", "_cuda.c")],
    depends=[os.path.join(src, f) for f in os.listdir(os.path.join(HERE, src))
             if f.endswith(".h")],
    include_dirs=include_dirs,
    library_dirs=library_dirs,
    runtime_library_dirs=library_dirs,
    libraries=libraries,
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden"] + extra,
    define_macros=macros,
    py_limited_api=True,
)

setup(ext_modules=[module], options={"bdist_wheel": {"py_limited_api": "cp311"}})

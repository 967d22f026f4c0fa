"""Shared fixtures of the inrf package's tests: small generated images,
encoded by the built tools into an .inrf and an .inrpack, and the paths of
the build (INRF_TEST_BUILD, set by tests/test_python.sh).

Fixtures: build_dir, tool, make_image, write_pnm, read_pnm, source_pnm,
inrf_file, small_pack (12 images of 16 x 16, 3 classes "ant", "bee",
"cat", 4 each), small_pack_classes, cuda_emu (the emulated libinrf_cuda or
a skip)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest


def make_image(width, height, channels=3, seed=0):
    """A smooth uint8 image (height x width x channels): a few sine waves,
    which a small SIREN fits in a few steps."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for _ in range(channels):
        fx, fy, ph = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3)
        planes.append(0.5 + 0.45 * np.sin(fx * x + fy * y + ph))
    a = np.stack(planes, axis=-1)
    return np.round(a * 255).astype(np.uint8)


def write_pnm(path, a):
    """Writes a uint8 H x W x C (C 1 or 3) or H x W array as binary PNM."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    grey = a.ndim == 2 or a.shape[2] == 1
    h, w = a.shape[:2]
    with open(path, "wb") as f:
        f.write(b"P5\n" if grey else b"P6\n")
        f.write(b"%d %d\n255\n" % (w, h))
        f.write(a.tobytes())


def read_pnm(path):
    """A binary PNM (P5 or P6, maxval 255) as a uint8 H x W x C array."""
    data = pathlib.Path(path).read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    assert maxval == 255
    c = 3 if magic == b"P6" else 1
    return np.frombuffer(data[pos:pos + w * h * c], np.uint8).reshape(h, w, c)


@pytest.fixture(scope="session")
def build_dir():
    """The build tree (tests/test_python.sh's INRF_TEST_BUILD); the tests
    that run the tools skip without it (a package installed by pip)."""
    b = os.environ.get("INRF_TEST_BUILD")
    if not b:
        pytest.skip("INRF_TEST_BUILD is not set (the build's tools are needed)")
    return pathlib.Path(b)


@pytest.fixture(scope="session")
def tool(build_dir):
    """tool(name, *args): runs the built tools/NAME; returns the
    CompletedProcess (stdout bytes), failing the test on a non-zero exit."""
    def run(name, *args, check=True):
        r = subprocess.run([str(build_dir / "tools" / name)] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and r.returncode != 0:
            raise AssertionError("%s %s: exit %d: %s" % (name, " ".join(map(str, args)),
                                                          r.returncode, r.stderr.decode()))
        return r
    return run


@pytest.fixture(scope="session")
def source_pnm(tmp_path_factory):
    """A 24 x 16 RGB PPM (not square: width and height cannot swap)."""
    p = tmp_path_factory.mktemp("src") / "img.ppm"
    write_pnm(p, make_image(24, 16, 3, seed=1))
    return p


@pytest.fixture(scope="session")
def inrf_file(tool, source_pnm, tmp_path_factory):
    """An .inrf of source_pnm made by the built inrenc (--effort 1)."""
    out = tmp_path_factory.mktemp("inrf") / "img.inrf"
    tool("inrenc", "-q", "--effort", "1", "-o", out, source_pnm)
    return out


SMALL_PACK_CLASSES = ["ant", "bee", "cat"]


@pytest.fixture(scope="session")
def small_pack_classes():
    return list(SMALL_PACK_CLASSES)


@pytest.fixture(scope="session")
def small_pack(tool, tmp_path_factory):
    """A pack of 12 RGB images of 16 x 16 in 3 classes (4 each), made by
    the built inrpack create (--effort 1) from an ImageFolder."""
    root = tmp_path_factory.mktemp("pack")
    src = root / "src"
    for c, name in enumerate(SMALL_PACK_CLASSES):
        (src / name).mkdir(parents=True)
        for k in range(4):
            write_pnm(src / name / ("%02d.ppm" % k), make_image(16, 16, 3, seed=10 * c + k))
    out = root / "small.inrpack"
    tool("inrpack", "create", "-q", "--effort", "1", "-o", out, src)
    return out


@pytest.fixture(scope="session")
def cuda_emu():
    """The emulated libinrf_cuda (INRF_TEST_CUDA_EMU), or a skip."""
    p = os.environ.get("INRF_TEST_CUDA_EMU")
    if not p or not os.path.exists(p):
        pytest.skip("no emulated libinrf_cuda (INRF_TEST_CUDA_EMU)")
    return pathlib.Path(p)


@pytest.fixture(scope="session")
def mixed_pack(tool, tmp_path_factory):
    """A pack of 37 RGB images of several sizes (12 to 22 pixels a side) in
    3 classes "a", "b", "c" (13, 12, 12 images), made by the built inrpack
    create (--effort 1): an odd count for the data path's rank slices and
    short last batches, sizes for RandomResizedCrop's draw."""
    root = tmp_path_factory.mktemp("mixed")
    src = root / "src"
    for i in range(37):
        cls = src / "abc"[i % 3]
        cls.mkdir(parents=True, exist_ok=True)
        w, h = 12 + (i % 5) * 2, 12 + (i % 3) * 4
        write_pnm(cls / ("%02d.ppm" % i), make_image(w, h, 3, seed=100 + i))
    out = root / "mixed.inrpack"
    tool("inrpack", "create", "-q", "--effort", "1", "--steps", "40", "-o", out, src)
    return out

"""Fixtures of the Python tests: the build tree and a small generated pack."""
import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def build_dir():
    """The build tree (INRF_TEST_BUILD, set by tests/test_python.sh)."""
    d = os.environ.get("INRF_TEST_BUILD")
    if not d:
        pytest.skip("INRF_TEST_BUILD is not set (run through make check)")
    return d


@pytest.fixture(scope="session")
def small_pack(build_dir, tmp_path_factory):
    """A pack of 37 small images of several sizes in 3 classes, made by
    the built inrdec (crops of a golden file) and inrpack create."""
    top = os.environ.get("top_srcdir") or os.path.join(build_dir)
    golden = os.path.join(top, "tests", "golden", "cifar.inrf")
    work = tmp_path_factory.mktemp("pack")
    src = work / "src"
    for i in range(37):
        cls = src / ("abc"[i % 3])
        cls.mkdir(parents=True, exist_ok=True)
        side = 12 + (i % 5) * 2
        subprocess.run([os.path.join(build_dir, "tools", "inrdec"), "--size", "%dx%d" % (
            32 + i % 4 * 4, 32), "--crop", "%d,%d,%d,%d" % (i % 7, i % 5, side + i % 3 * 2, side),
            golden, "-o", str(cls / ("img%02d.png" % i))], check=True)
    out = work / "small.inrpack"
    subprocess.run([os.path.join(build_dir, "tools", "inrpack"), "create", str(src), "-o",
                    str(out), "--effort", "1", "--preset", "cifar10", "--steps", "40", "-q"],
                   check=True)
    return str(out)

"""The GPU data path: CudaPack and Sampler.fill on the emulated libinrf_cuda
(INRF_TEST_CUDA_EMU) into stand-in CUDA arrays over host memory, against
the CPU decoder bit for bit; the library's absence and its errors; and on a
real GPU through torch when there is one."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import inrf
from inrf import _inrf

EMU = os.environ.get("INRF_TEST_CUDA_EMU")
needs_emu = pytest.mark.skipif(not EMU, reason="INRF_TEST_CUDA_EMU is not set (no emulated "
                               "libinrf_cuda in this build)")
MEAN = (0.5, 0.45, 0.4)
STD = (0.2, 0.25, 0.3)


class DeviceArray:
    """A stand-in for a CUDA tensor: __cuda_array_interface__ over a host
    array (the emulator's device memory is host memory)."""

    def __init__(self, array, **override):
        self.array = array
        self.override = override

    @property
    def __cuda_array_interface__(self):
        cai = {"shape": self.array.shape, "typestr": self.array.dtype.str,
               "data": (self.array.ctypes.data, False), "strides": None, "version": 3,
               "stream": 1}
        cai.update(self.override)
        return cai


@pytest.fixture(scope="module")
def emu():
    if not EMU:
        pytest.skip("INRF_TEST_CUDA_EMU is not set")
    os.environ["INRF_CUDA_LIBRARY"] = EMU
    return EMU


def c_pack(pack):
    return getattr(pack, "_pack", pack)


def cpu_batch(pack, idx, win, w, h, dtype, zero_outside, norm):
    out = np.empty((len(idx), h, w, pack.channels), dtype=dtype)
    pack.decode_batch(np.asarray(idx, np.uint32), (w, h), windows=np.asarray(win, np.float32),
                      out=out, dtype=np.dtype(dtype).name, zero_outside=zero_outside,
                      mean=MEAN if norm else None, std=STD if norm else None)
    return out


@needs_emu
@pytest.mark.parametrize("augment", ["crop-flip", "rrc-flip"])
def test_cuda_pack_equals_cpu(emu, mixed_pack, augment):
    pack = inrf.Pack(mixed_pack)
    assert _inrf.cuda_available()
    cp = _inrf.CudaPack(c_pack(pack), 0)
    assert cp.device == 0 and cp.wave(16) > 0
    s = _inrf.Sampler(c_pack(pack), 9, drop_last=False, augment=augment, seed=2)
    s.set_epoch(1)
    zero = augment == "crop-flip"
    for b in range(s.batches):
        idx, win = s.batch(b, 16, 12)
        n = len(idx)
        f32 = cpu_batch(pack, idx, win, 16, 12, np.float32, zero, True)
        u8 = cpu_batch(pack, idx, win, 16, 12, np.uint8, zero, False)
        for dtype, ref, norm in ((np.uint8, u8, False), (np.float32, f32, True),
                                 (np.float16, f32.astype(np.float16), True)):
            out = np.full((n, 12, 16, 3), 7, dtype)
            got = cp.decode_batch(idx, (16, 12), windows=win, out=DeviceArray(out),
                                  dtype=np.dtype(dtype).name, zero_outside=zero,
                                  mean=MEAN if norm else None, std=STD if norm else None)
            assert isinstance(got, DeviceArray)
            assert out.tobytes() == ref.tobytes(), "%s batch %d" % (np.dtype(dtype).name, b)
            # the same batch drawn and decoded by Sampler.fill
            out2 = np.full_like(out, 3)
            labels = np.empty(n, np.int64)
            assert s.fill(b, 16, 12, DeviceArray(out2), labels, np.dtype(dtype).name,
                          MEAN if norm else None, STD if norm else None, cuda_pack=cp,
                          stream=0) == n
            assert out2.tobytes() == ref.tobytes()
            assert labels.tolist() == [pack.labels[i] for i in idx]
    cp.sync()


@needs_emu
def test_emulated_library_exports_cuda_h_only(emu):
    import ctypes
    lib = ctypes.CDLL(emu)
    for name in ("inrf_cuda_devices", "inrf_cuda_pack_upload", "inrf_cuda_pack_free",
                 "inrf_cuda_decode_batch", "inrf_cuda_decode_wave", "inrf_cuda_sync",
                 "inrf_cuda_encode_batch"):
        assert hasattr(lib, name), name
    # the emulator's runtime stays inside: no cudaMalloc for torch to meet
    for name in ("cudaMalloc", "cudaStreamCreate", "inrf_emu_switch", "inrf_emu_occupancy"):
        assert not hasattr(lib, name), name


@needs_emu
def test_cuda_targets_are_checked(emu, mixed_pack):
    pack = inrf.Pack(mixed_pack)
    cp = _inrf.CudaPack(c_pack(pack))
    idx = [0, 5, 9]
    good = np.zeros((3, 8, 8, 3), np.float32)
    cases = [
        (DeviceArray(good, data=(good.ctypes.data, True)), "read-only"),
        (DeviceArray(good.astype(np.float64)), "typestr"),
        (DeviceArray(np.zeros((3, 8, 8, 3), np.uint8)), "typestr"),
        (DeviceArray(np.zeros((3, 8, 9, 3), np.float32)), "shape"),
        (DeviceArray(np.zeros((2, 8, 8, 3), np.float32)), "shape"),
        (DeviceArray(good, strides=(4, 96, 12, 4)), "contiguous"),
        (DeviceArray(good, version=1), "version"),
        (DeviceArray(good, mask=object()), "mask"),
        (good, "__cuda_array_interface__"),
    ]
    for target, what in cases:
        with pytest.raises(inrf.Error, match=what):
            cp.decode_batch(idx, 8, out=target)
    # C-contiguous strides spelled out are accepted
    cp.decode_batch(idx, 8, out=DeviceArray(good, strides=(768, 96, 12, 4)))
    with pytest.raises(inrf.Error, match="indices"):
        cp.decode_batch([0, 37], 8, out=DeviceArray(np.zeros((2, 8, 8, 3), np.float32)))
    with pytest.raises(inrf.Error, match="windows"):
        cp.decode_batch(idx, 8, windows=[0.0] * 8, out=DeviceArray(good))
    # indices and mean/std are read as Pack.decode_batch reads them
    for ints in (np.int32, np.uint16, np.int8):
        cp.decode_batch(np.array(idx, ints), 8, out=DeviceArray(good))
    with pytest.raises(inrf.Error, match=re.escape(str(mixed_pack)) + ": indices"):
        cp.decode_batch(np.array([0.0, 1.0, 2.0]), 8, out=DeviceArray(good))
    with pytest.raises(inrf.Error, match="mean: 2 values, 3 wanted"):
        cp.decode_batch(idx, 8, out=DeviceArray(good), mean=[0.5, 0.5])
    with pytest.raises(inrf.Error, match="std"):
        cp.decode_batch(idx, 8, out=DeviceArray(good), std=[1.0, float("nan"), 1.0])
    with pytest.raises(inrf.Error, match="dtype"):
        cp.decode_batch(idx, 8, out=DeviceArray(good), dtype="float64")
    with pytest.raises(TypeError):
        _inrf.Sampler(c_pack(pack), 3).fill(0, 8, 8, DeviceArray(good), np.empty(3, np.int64),
                                           cuda_pack=object())


@needs_emu
def test_errors_carry_libinrf_cuda_messages(emu, mixed_pack, tmp_path):
    pack = inrf.Pack(mixed_pack)
    _inrf.CudaPack(c_pack(pack))  # loaded
    # libinrf_cuda links the same libinrf as the module: one copy mapped
    with open("/proc/self/maps") as f:
        maps = {line.split()[-1] for line in f if "libinrf.so" in line}
    assert len(maps) == 1, maps
    # a message left by another failure is not what the device error shows
    with pytest.raises(inrf.Error) as first:
        inrf.Pack(str(tmp_path / "missing.inrpack"))
    with pytest.raises(inrf.Error) as e:
        _inrf.CudaPack(c_pack(pack), 7)
    assert "missing.inrpack" not in str(e.value)
    assert "device" in str(e.value) and str(e.value) != str(first.value)
    assert e.value.status != 0


@needs_emu
def test_device_pack_is_shared(emu, mixed_pack, tmp_path):
    torch_mod = pytest.importorskip("torch")
    import gc
    import shutil
    import weakref
    from inrf.torch import device_pack
    a = device_pack(mixed_pack, 0)
    assert device_pack(str(mixed_pack), 0) is a  # the same file: one upload
    assert device_pack(inrf.Pack(mixed_pack), torch_mod.device("cuda", 0)) is a
    copy = tmp_path / "copy.inrpack"
    shutil.copyfile(mixed_pack, copy)
    assert device_pack(copy, 0) is not a  # another file
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None  # the cache does not keep a device pack alive
    b = device_pack(mixed_pack, 0)  # uploaded anew
    assert isinstance(b, _inrf.CudaPack) and b.device == 0


def run_python(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, timeout=300)


PROBE = """
import inrf
from inrf import _inrf
print(_inrf.cuda_available())
pack = inrf.Pack(%r)
try:
    _inrf.CudaPack(getattr(pack, "_pack", pack))
except inrf.Error as e:
    print("Error:", e.status, e)
"""


def test_missing_library_is_a_clear_error(mixed_pack, tmp_path):
    r = run_python(PROBE % str(mixed_pack),
                   INRF_CUDA_LIBRARY=str(tmp_path / "libinrf_cuda.so.2"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "False"
    assert lines[1].startswith("Error:") and "libinrf_cuda is not available" in lines[1]
    assert "INRF_CUDA_LIBRARY" in lines[1]


@needs_emu
def test_not_libinrf_cuda_and_no_device(mixed_pack, build_dir):
    libinrf = os.path.join(build_dir, "libinrf", ".libs", "libinrf.so")
    r = run_python(PROBE % str(mixed_pack), INRF_CUDA_LIBRARY=libinrf)
    assert r.returncode == 0, r.stderr
    assert "not libinrf_cuda (no inrf_cuda_devices)" in r.stdout
    r = run_python(PROBE % str(mixed_pack), INRF_CUDA_LIBRARY=EMU, INRF_EMU_DEVICES="0")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "False" and lines[1].startswith("Error: 14 ")  # INRF_E_NO_DEVICE


# ----------------------------------------------------------- a real GPU

torch = None
try:
    import torch
except ImportError:
    pass

needs_gpu = pytest.mark.skipif(torch is None or not torch.cuda.is_available(),
                               reason="no CUDA device for torch")


@needs_gpu
@pytest.mark.parametrize("augment", ["crop-flip", "rrc-flip"])
def test_cuda_loader_equals_cpu_loader(mixed_pack, augment):
    from inrf.torch import Loader
    if not _inrf.cuda_available():
        pytest.skip("libinrf_cuda not found or sees no device")
    for dtype in (torch.uint8, torch.float32, torch.float16):
        norm = dict(mean=MEAN, std=STD) if dtype != torch.uint8 else {}
        args = dict(batch_size=8, size=24, augment=augment, drop_last=False, seed=4, dtype=dtype,
                    **norm)
        cpu = Loader(mixed_pack, device="cpu", **(dict(args, dtype=torch.float32)
                                                   if dtype == torch.float16 else args))
        gpu = Loader(mixed_pack, device="cuda", **args)
        assert gpu._cuda is Loader(mixed_pack, device="cuda", **args)._cuda  # uploaded once
        for (x, y), (u, v) in zip(cpu, gpu):
            assert u.is_cuda and u.is_contiguous(memory_format=torch.channels_last)
            assert torch.equal(y, v.cpu())
            ref = x.to(torch.float16) if dtype == torch.float16 else x
            assert torch.equal(ref, u.cpu())


@needs_gpu
def test_cuda_loader_memory_does_not_grow(mixed_pack):
    from inrf.torch import Loader
    if not _inrf.cuda_available():
        pytest.skip("libinrf_cuda not found or sees no device")
    loader = Loader(mixed_pack, batch_size=8, size=32, device="cuda", dtype=torch.float16)
    held = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        for images, labels in loader:
            pass
        torch.cuda.synchronize()
        held.append(torch.cuda.memory_allocated())
    assert held[2] <= held[1]


def test_the_builds_libinrf_cuda_loads(mixed_pack, build_dir):
    """The real library of this build (nvcc), where configure found nvcc:
    it loads beside the module; without a GPU its refusal is the runtime's
    reason as libinrf_cuda reports it."""
    lib = os.path.join(str(build_dir), "kernels", ".libs", "libinrf_cuda.so.2")
    if not os.path.exists(lib):
        pytest.skip("this build has no libinrf_cuda (no nvcc)")
    r = run_python(PROBE % str(mixed_pack), INRF_CUDA_LIBRARY=lib)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    if lines[0] == "False":
        assert lines[1].startswith("Error: 14 ") and "not available" not in lines[1], lines
    else:
        assert lines == ["True"]

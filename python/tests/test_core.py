"""inrf's core (inrf._inrf and inrf/__init__.py) against the built tools:
decoding gives libinrf's pixels bit for bit, encoding gives inrenc's bytes,
packs decode as inrdec decodes their records, and every bad input raises
inrf.Error naming the file."""

import json
import sys
import threading

import numpy as np
import pytest

import inrf
from conftest import make_image, read_pnm, write_pnm


def inrdec(tool, tmp_path, src, *args):
    out = tmp_path / "out.ppm"
    tool("inrdec", "-q", "-f", "-o", out, *args, src)
    return read_pnm(out)


# ------------------------------------------------------------------ Image

def test_read_fields_as_inrinfo_says(tool, inrf_file):
    img = inrf.read(inrf_file)
    ref = json.loads(tool("inrinfo", "--json", inrf_file).stdout)[0]
    assert (img.width, img.height, img.channels) == (24, 16, 3)
    assert img.nbytes == inrf_file.stat().st_size == ref["bytes"]
    assert img.kind == ref["kind"] == "siren"
    assert img.layers == ref["layer_table"] and len(img.layers) == ref["layers"] + 1
    assert img.psnr == pytest.approx(ref["psnr"], rel=1e-6)
    info = img.info()
    for key, value in ref.items():
        if key == "path":
            continue
        if isinstance(value, float):
            assert info[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert info[key] == value, key
    assert set(info) == set(ref) - {"path"}
    assert img.arch["widths"] == ref["widths"]


def test_read_bytes_equals_read_path(inrf_file):
    a, b = inrf.read(inrf_file), inrf.read(inrf_file.read_bytes())
    assert a.to_bytes() == b.to_bytes() == inrf_file.read_bytes()
    assert np.array_equal(a.decode(), b.decode())
    assert a.source == str(inrf_file) and b.source == "<memory>"
    # the C module's own read, for callers without the package
    c = inrf._inrf.read(bytearray(inrf_file.read_bytes()))
    assert type(c) is inrf._inrf.Image and c.to_bytes() == a.to_bytes()
    assert inrf._inrf.read(str(inrf_file)).nbytes == a.nbytes


def test_decode_equals_inrdec(tool, inrf_file, tmp_path):
    img = inrf.read(inrf_file)
    a = img.decode()
    assert a.dtype == np.uint8 and a.shape == (16, 24, 3)
    assert np.array_equal(a, inrdec(tool, tmp_path, inrf_file))
    # --size N: the shorter side N, the aspect kept
    b = img.decode(size=11)
    assert np.array_equal(b, inrdec(tool, tmp_path, inrf_file, "--size", "11"))
    assert b.shape[0] == 11
    c = img.decode(size=(37, 29))
    assert c.shape == (29, 37, 3)
    assert np.array_equal(c, inrdec(tool, tmp_path, inrf_file, "--size", "37x29"))


def test_crop_is_inrdecs_pixel_crop(tool, inrf_file, tmp_path):
    img = inrf.read(inrf_file)
    crop = img.decode(size=(48, 32), crop=(5, 3, 20, 17))
    assert crop.shape == (17, 20, 3)
    assert np.array_equal(crop, img.decode(size=(48, 32))[3:20, 5:25])
    assert np.array_equal(crop, inrdec(tool, tmp_path, inrf_file, "--size", "48x32",
                                       "--crop", "5,3,20,17"))
    with pytest.raises(inrf.Error, match="outside"):
        img.decode(size=(48, 32), crop=(40, 0, 20, 17))
    with pytest.raises(inrf.Error, match="together"):
        img.decode(crop=(0, 0, 4, 4), window=(-1, -1, 1, 1))
    with pytest.raises(inrf.Error, match="pixel count"):
        img.decode(crop=(-1, 0, 4, 4))


def test_window_and_float32(inrf_file):
    img = inrf.read(inrf_file)
    u8 = img.decode()
    assert np.array_equal(img.decode(window=(-1, -1, 1, 1)), u8)
    f = img.decode(dtype="float32")
    assert f.dtype == np.float32 and f.shape == u8.shape
    assert f.min() >= 0 and f.max() <= 1
    assert np.abs(f * 255 - u8).max() <= 0.5 + 1e-3
    assert np.array_equal(img.decode(dtype=np.float32), f)
    # the left half of the window is the left half of the image
    half = img.decode(size=(12, 16), window=(-1, -1, 0, 1), dtype="float32")
    assert np.allclose(half, f[:, :12], atol=1e-5)
    mirrored = img.decode(window=(1, -1, -1, 1), dtype="float32")
    assert np.allclose(mirrored, f[:, ::-1], atol=1e-5)


def test_decode_into_out(inrf_file):
    img = inrf.read(inrf_file)
    out = np.zeros((16, 24, 3), np.uint8)
    assert img.decode(out=out) is out
    assert np.array_equal(out, img.decode())
    flat = bytearray(16 * 24 * 3)
    img.decode(out=flat)
    assert bytes(flat) == img.decode().tobytes()


@pytest.mark.parametrize("out, why", [
    (np.zeros((16, 24, 3), np.float32), "dtype float32, uint8 wanted"),
    (np.zeros((16, 24, 4), np.uint8), "bytes"),
    (np.zeros((24, 16, 3), np.uint8), r"shape \(24, 16, 3\), \(16, 24, 3\) wanted"),
    (np.zeros((16, 48, 3), np.uint8)[:, ::2], "C-contiguous"),
    (bytes(16 * 24 * 3), "writable"),
])
def test_decode_bad_out_raises(inrf_file, out, why):
    with pytest.raises(inrf.Error, match=why) as e:
        inrf.read(inrf_file).decode(out=out)
    assert e.value.name == "INRF_E_INVALID_ARG" and e.value.status == 1
    assert str(e.value).startswith("%s: out: " % inrf_file)


def test_decode_bad_arguments_raise(inrf_file):
    img = inrf.read(inrf_file)
    with pytest.raises(inrf.Error, match="dtype"):
        img.decode(dtype="int16")
    with pytest.raises(inrf.Error):
        img.decode(size=0)
    with pytest.raises(inrf.Error, match="2\\^28"):
        img.decode(size=(1 << 15, 1 << 15))
    with pytest.raises(inrf.Error, match="window"):
        img.decode(window=(0, 0, float("nan"), 1))
    with pytest.raises(inrf.Error, match="threads"):
        img.decode(threads=-1)
    with pytest.raises(TypeError):
        img.decode(size="big")


def test_save_writes_the_same_file(inrf_file, tmp_path):
    out = tmp_path / "copy.inrf"
    inrf.read(inrf_file).save(out)
    assert out.read_bytes() == inrf_file.read_bytes()


# ----------------------------------------------------------------- encode

def test_encode_path_and_array_equal_inrenc(tool, source_pnm, tmp_path):
    ref = tmp_path / "ref.inrf"
    tool("inrenc", "-q", "--effort", "2", "--max-bytes", "800", "--seed", "7", "-o", ref,
         source_pnm)
    from_path = tmp_path / "path.inrf"
    img = inrf.encode(source_pnm, from_path, effort=2, max_bytes=800, seed=7)
    assert from_path.read_bytes() == ref.read_bytes()
    assert img.to_bytes() == ref.read_bytes()
    from_array = tmp_path / "array.inrf"
    inrf.encode(read_pnm(source_pnm), str(from_array), effort=2, max_bytes=800, seed=7,
                threads=1)
    assert from_array.read_bytes() == ref.read_bytes()


def test_encode_grey_array_and_options(tool, tmp_path):
    a = make_image(12, 10, 1, seed=3)[:, :, 0]
    src = tmp_path / "grey.pgm"
    write_pnm(src, a)
    ref = tmp_path / "ref.inrf"
    tool("inrenc", "-q", "--effort", "1", "--preset", "cifar10", "--quant", "int8-row",
         "--no-prune", "-o", ref, src)
    img, stats = inrf.encode(a, effort=1, preset="cifar10", quant="int8-row", prune=False,
                             stats=True)
    assert img.channels == 1 and img.to_bytes() == ref.read_bytes()
    assert stats["bytes"] == img.nbytes and stats["target_reached"] is None


@pytest.mark.parametrize("src, kw, why", [
    (np.zeros((8, 8), np.float32), {}, "uint8"),
    (np.zeros((8, 8, 2), np.uint8), {}, "channels"),
    (np.zeros((8,), np.uint8), {}, "HxW"),
    (np.zeros((8, 8), np.uint8), {"effort": 10}, "effort"),
    (np.zeros((8, 8), np.uint8), {"preset": "huge"}, "preset"),
    (np.zeros((8, 8), np.uint8), {"quant": "int4"}, "quant"),
    (np.zeros((8, 8), np.uint8), {"max_bytes": 10}, "bytes"),
])
def test_encode_bad_input_raises(src, kw, why):
    with pytest.raises(inrf.Error, match=why):
        inrf.encode(src, **kw)


def test_encode_bad_paths_raise(source_pnm, tmp_path):
    with pytest.raises(inrf.Error, match="missing.png"):
        inrf.encode(tmp_path / "missing.png")
    with pytest.raises(inrf.Error, match="nowhere"):
        inrf.encode(source_pnm, tmp_path / "nowhere" / "x.inrf", effort=1)
    assert list(tmp_path.iterdir()) == []


def test_encode_stops_on_ctrl_c(tmp_path):
    """A signal whose handler raises (Ctrl-C's KeyboardInterrupt) stops an
    encode, which writes nothing: it comes a moment into a schedule of
    seconds, from the kernel (no other thread has to run)."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    dst = tmp_path / "never.inrf"
    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(KeyboardInterrupt):
            inrf.encode(make_image(64, 64, 3), dst, effort=9, threads=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert not dst.exists() and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------- Pack

def test_pack_fields(tool, small_pack, small_pack_classes):
    pack = inrf.Pack(small_pack)
    ref = json.loads(tool("inrpack", "info", "--json", small_pack).stdout)[0]
    assert len(pack) == ref["images"] == 12
    assert pack.classes == small_pack_classes
    assert pack.channels == 3 and pack.path == str(small_pack)
    assert pack.labels.dtype == np.int64
    assert list(pack.labels) == [0] * 4 + [1] * 4 + [2] * 4
    assert pack.sizes.shape == (12, 2) and (pack.sizes == 16).all()
    assert pack.psnr.dtype == np.float32
    assert float(pack.psnr.mean()) == pytest.approx(ref["psnr_mean"], rel=1e-5)
    assert pack.nbytes == small_pack.stat().st_size
    (arch,) = pack.archs
    assert {**arch, "images": 12} == ref["architectures"][0]
    assert pack.item(3)["arch"] == 0 and pack.image(3).arch == arch


def test_pack_item_equals_inrdec_of_the_record(tool, small_pack, tmp_path):
    pack = inrf.Pack(small_pack)
    for i in (0, 5, 11):
        d = tmp_path / ("x%d" % i)
        tool("inrpack", "extract", "-q", "--format", "inrf", "-o", d, small_pack, i)
        (record,) = list(d.rglob("*.inrf"))
        a, label = pack[i]
        assert label == pack.labels[i] and record.parent.name == pack.classes[label]
        assert a.shape == (16, 16, 3) and a.dtype == np.uint8
        assert np.array_equal(a, inrdec(tool, tmp_path, record))
        assert np.array_equal(pack.image(i).decode(size=9), inrf.read(record).decode(size=9))
    assert np.array_equal(pack[-1][0], pack[11][0])


def per_image(pack, indices, size, windows, dtype):
    return np.stack([pack.image(i).decode(size=(size, size), window=w, dtype=dtype)
                     for i, w in zip(indices, windows)])


def test_decode_batch_equals_per_image_decode(small_pack):
    pack = inrf.Pack(small_pack)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(pack), 10)
    x0 = rng.uniform(-1, 0, 10)
    y0 = rng.uniform(-1, 0, 10)
    windows = np.stack([x0, y0, x0 + 1, y0 + 1.2], axis=1).astype(np.float32)
    for dtype in ("uint8", "float32"):
        got = pack.decode_batch(idx, 12, windows=windows, dtype=dtype)
        assert got.shape == (10, 12, 12, 3) and got.dtype == np.dtype(dtype)
        assert np.array_equal(got, per_image(pack, idx, 12, windows.astype(np.float64), dtype))
    whole = pack.decode_batch(list(range(12)), 16, dtype="uint8")
    assert np.array_equal(whole, np.stack([pack[i][0] for i in range(12)]))


def test_decode_batch_flip_mirrors_the_window(small_pack):
    pack = inrf.Pack(small_pack)
    idx = np.array([3, 4, 5, 6])
    flip = np.array([True, False, True, False])
    windows = np.array([[-1, -1, 1, 1], [-0.5, -1, 0.5, 1], [-0.8, -0.2, 0.4, 1],
                        [-1, -1, 0, 0]], np.float32)
    got = pack.decode_batch(idx, 8, windows=windows, flip=flip, dtype="float32")
    mirrored = windows.copy()
    mirrored[flip, 0], mirrored[flip, 2] = windows[flip, 2], windows[flip, 0]
    assert np.array_equal(got, pack.decode_batch(idx, 8, windows=mirrored, dtype="float32"))
    assert np.array_equal(got, per_image(pack, idx, 8, mirrored.astype(np.float64), "float32"))
    # no windows: the whole image, mirrored
    full = pack.decode_batch(idx, 16, flip=flip, dtype="float32")
    plain = pack.decode_batch(idx, 16, dtype="float32")
    assert np.array_equal(full[~flip], plain[~flip])
    assert np.allclose(full[flip], plain[flip][:, :, ::-1], atol=1e-5)


def test_decode_batch_normalises_and_fills_out(small_pack):
    pack = inrf.Pack(small_pack)
    idx = [0, 7, 11]
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    plain = pack.decode_batch(idx, (10, 6), dtype="float32")
    assert plain.shape == (3, 6, 10, 3)
    out = np.empty((3, 6, 10, 3), np.float32)
    r = pack.decode_batch(idx, (10, 6), out=out, mean=mean, std=std, dtype="float32")
    assert r is out
    want = (plain - np.float32(mean)) / np.float32(std)
    assert np.allclose(out, want, rtol=1e-6, atol=1e-6)
    one = pack.decode_batch(idx, (10, 6), mean=0.5, std=0.5)
    assert np.allclose(one, (plain - 0.5) / 0.5, rtol=1e-6, atol=1e-6)
    # uint8 ignores mean and std
    assert np.array_equal(pack.decode_batch(idx, 5, dtype="uint8", mean=mean, std=std),
                          pack.decode_batch(idx, 5, dtype="uint8"))
    empty = pack.decode_batch([], 4)
    assert empty.shape == (0, 4, 4, 3)


def test_decode_batch_zero_outside(small_pack):
    pack = inrf.Pack(small_pack)
    # the left half of each sample lies left of the image (x < -1)
    windows = np.array([[-2.0, -1, 0, 1]] * 2, np.float32)
    padded = pack.decode_batch([2, 9], 8, windows=windows, dtype="uint8", zero_outside=True)
    plain = pack.decode_batch([2, 9], 8, windows=windows, dtype="uint8")
    assert (padded[:, :, :4] == 0).all() and plain[:, :, :4].any()
    assert np.array_equal(padded[:, :, 4:], plain[:, :, 4:])
    norm = pack.decode_batch([2, 9], 8, windows=windows, zero_outside=True, mean=0.5, std=0.5)
    assert (norm[:, :, :4] == -1).all()


def test_grey_pack(tool, tmp_path):
    src = tmp_path / "src"
    for c in ("a", "b"):
        (src / c).mkdir(parents=True)
        write_pnm(src / c / "0.pgm", make_image(12, 8, 1, seed=ord(c)))
    out = tmp_path / "grey.inrpack"
    tool("inrpack", "create", "-q", "--channels", "1", "--effort", "1", "-o", out, src)
    pack = inrf.Pack(out)
    assert pack.channels == 1 and list(pack.sizes[1]) == [12, 8]
    a, label = pack[1]
    assert a.shape == (8, 12, 1) and label == 1
    x = pack.decode_batch([0, 1], (12, 8), dtype="uint8")
    assert x.shape == (2, 8, 12, 1) and np.array_equal(x[1], a)
    f = pack.decode_batch([0, 1], 6, mean=[0.5], std=[0.25])
    assert np.allclose(f, pack.decode_batch([0, 1], 6, mean=0.5, std=0.25))
    with pytest.raises(inrf.Error, match="mean: 3 values, 1 wanted"):
        pack.decode_batch([0], 6, mean=[0.5, 0.5, 0.5])


def test_decode_batch_windows_as_numbers(small_pack):
    pack = inrf.Pack(small_pack)
    idx = np.array([3, 4])
    win = [[-1.0, -0.5, 0.5, 1.0], [0.0, -1.0, 1.0, 0.0]]
    want = pack.decode_batch(idx, 8, windows=np.array(win, np.float32))
    got = np.empty_like(want)
    # the core reads a sequence of numbers, flat or n x 4, or a strided
    # array, as CudaPack does
    for w in (win, sum(win, []), np.asfortranarray(np.array(win, np.float32))):
        pack._decode_batch(idx, 8, 8, got, inrf._inrf.BATCH_F32, windows=w)
        assert np.array_equal(got, want)
    with pytest.raises(inrf.Error, match="windows: 7 values for 2 samples"):
        pack._decode_batch(idx, 8, 8, got, inrf._inrf.BATCH_F32, windows=sum(win, [])[:7])


def test_decode_batch_float16(small_pack):
    pack = inrf.Pack(small_pack)
    try:
        half = pack.decode_batch([1, 2], 8, dtype="float16")
    except inrf.Error as e:
        if "type 2 unknown" in str(e):
            pytest.skip("this libinrf has no float16 batch output")
        raise
    assert half.dtype == np.float16
    assert np.array_equal(half, pack.decode_batch([1, 2], 8, dtype="float32").astype(np.float16))


@pytest.mark.parametrize("kw, why", [
    ({"out": np.zeros((2, 8, 8, 3), np.uint8)}, "dtype uint8, float32 wanted"),
    ({"out": np.zeros((2, 8, 8, 3), np.float64)}, "dtype float64"),
    ({"out": np.zeros((3, 8, 8, 3), np.float32)}, "bytes"),
    ({"out": np.zeros((2, 8, 8, 3), np.float32).transpose(0, 2, 1, 3)}, "C-contiguous"),
    ({"out": np.zeros((2, 3, 8, 8), np.float32)}, r"shape \(2, 3, 8, 8\)"),
    ({"dtype": "int32"}, "dtype"),
    ({"windows": np.zeros((3, 4), np.float32)}, "windows"),
    ({"windows": np.full((2, 4), np.inf, np.float32)}, "window not finite"),
    ({"flip": [True]}, "flip"),
    ({"std": [1, 0, 1]}, "std"),
    ({"mean": [1, 2]}, "mean"),
    ({"threads": -2}, "threads"),
])
def test_decode_batch_bad_arguments_raise(small_pack, kw, why):
    pack = inrf.Pack(small_pack)
    with pytest.raises(inrf.Error, match=why) as e:
        pack.decode_batch([0, 1], 8, **kw)
    assert str(e.value).startswith(str(small_pack) + ": ")
    assert e.value.name == "INRF_E_INVALID_ARG" and e.value.status == 1


def test_decode_batch_bad_indices_raise(small_pack):
    pack = inrf.Pack(small_pack)
    for bad in ([0, 12], [-1], np.array([1 << 40]), np.array([5], np.uint64) - 6):
        with pytest.raises(inrf.Error, match=str(small_pack)):
            pack.decode_batch(bad, 8)
    with pytest.raises(inrf.Error, match="indices"):
        pack.decode_batch(np.array([0.0, 1.0]), 8)
    with pytest.raises(inrf.Error):
        pack.decode_batch([0], 0)
    with pytest.raises(inrf.Error):
        pack.decode_batch([0], (8, 70000))
    with pytest.raises(inrf.Error, match="image 12 of 12"):
        pack.image(12)


def test_decode_batch_from_threads(small_pack):
    pack = inrf.Pack(small_pack)
    idx = np.arange(12)
    want = pack.decode_batch(idx, 24, dtype="float32")
    results, errors = [None] * 4, []

    def work(k):
        try:
            for _ in range(3):
                results[k] = pack.decode_batch(idx, 24, dtype="float32", threads=2)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        assert np.array_equal(r, want)


def test_decode_batch_releases_the_gil(small_pack):
    """With a switch interval too long to ever expire, the main thread can
    run while the worker is inside decode_batch only if the call lets the
    GIL go. (Should the worker take the GIL back before the main thread
    wakes, on a loaded machine, the next attempt tells; a call that holds
    the GIL fails every attempt.)"""
    pack = inrf.Pack(small_pack)
    idx = np.arange(12).repeat(4)
    out = np.empty((48, 128, 128, 3), np.float32)
    seen = []
    old = sys.getswitchinterval()
    try:
        for _ in range(5):
            state = {"phase": "start"}
            started = threading.Event()

            def work():
                started.set()
                state["phase"] = "inside"
                pack._decode_batch(idx, 128, 128, out, inrf._inrf.BATCH_F32, threads=1)
                state["phase"] = "done"
            sys.setswitchinterval(1000)
            t = threading.Thread(target=work)
            t.start()
            started.wait()
            seen.append(state["phase"])
            sys.setswitchinterval(old)
            t.join()
            assert state["phase"] == "done"
            if seen[-1] == "inside":
                break
    finally:
        sys.setswitchinterval(old)
    assert "inside" in seen


def test_pickle(small_pack, inrf_file):
    import pickle
    pack = pickle.loads(pickle.dumps(inrf.Pack(small_pack)))
    assert type(pack) is inrf.Pack and pack.path == str(small_pack) and len(pack) == 12
    img = inrf.read(inrf_file)
    back = pickle.loads(pickle.dumps(img))
    assert type(back) is inrf.Image and back.to_bytes() == img.to_bytes()
    assert np.array_equal(pickle.loads(pickle.dumps(pack.image(4))).decode(), pack[4][0])


# --------------------------------------------------------- bad files raise

def test_bad_paths_raise(tmp_path):
    for opener in (inrf.read, inrf.Pack):
        with pytest.raises(inrf.Error, match="missing.x") as e:
            opener(tmp_path / "missing.x")
        assert e.value.name == "INRF_E_IO"
    pack_as_inrf = tmp_path / "p.inrf"
    pack_as_inrf.write_bytes(b"\x89INPK\r\n\x1a" + bytes(100))
    with pytest.raises(inrf.Error, match="p.inrf: an .inrpack, not an .inrf"):
        inrf.read(pack_as_inrf)
    text = tmp_path / "text.inrpack"
    text.write_bytes(b"hello" * 40)
    with pytest.raises(inrf.Error, match="text.inrpack: .*bad magic") as e:
        inrf.Pack(text)
    assert e.value.name == "INRF_E_NOT_INRF"
    with pytest.raises(inrf.Error, match=str(tmp_path)):
        inrf.Pack(tmp_path)


def test_truncated_and_corrupt_inrf_raise(inrf_file, tmp_path):
    data = inrf_file.read_bytes()
    cut = tmp_path / "cut.inrf"
    for n in range(len(data)):
        with pytest.raises(inrf.Error) as e:
            inrf.read(data[:n])
        assert e.value.status in (4, 6, 7, 8)
    for n in range(0, len(data), 37):
        cut.write_bytes(data[:n])
        with pytest.raises(inrf.Error, match=str(cut)):
            inrf.read(cut)
    # every byte changed: an error or (in a field no check covers) a model
    for i in range(len(data)):
        b = bytearray(data)
        b[i] ^= 0x5A
        try:
            inrf.read(bytes(b)).decode(size=4)
        except inrf.Error:
            pass


def test_truncated_and_corrupt_packs_raise(small_pack, tmp_path):
    data = small_pack.read_bytes()
    bad = tmp_path / "bad.inrpack"
    for n in list(range(0, 600, 7)) + list(range(600, len(data), 97)):
        bad.write_bytes(data[:n])
        with pytest.raises(inrf.Error, match=str(bad)):
            inrf.Pack(bad)
    for i in range(0, len(data), 11):
        b = bytearray(data)
        b[i] ^= 0xA5
        bad.write_bytes(bytes(b))
        try:
            pack = inrf.Pack(bad)
        except inrf.Error as e:
            assert str(bad) in str(e)
            continue
        pack.decode_batch(np.arange(len(pack)), 4)  # what opens decodes


def test_damaged_record_raises_when_not_verified(small_pack, tmp_path):
    item = inrf.Pack(small_pack).item(6)
    assert item["label"] == 1 and item["bytes"] > 0
    data = bytearray(small_pack.read_bytes())
    data[item["offset"] + item["bytes"] // 2] ^= 0xFF
    bad = tmp_path / "bad.inrpack"
    bad.write_bytes(bytes(data))
    with pytest.raises(inrf.Error, match=str(bad)) as e:
        inrf.Pack(bad)
    assert "record 6" in str(e.value)
    lazy = inrf.Pack(bad, verify=False)
    assert lazy.decode_batch([5, 7], 4).shape == (2, 4, 4, 3)
    with pytest.raises(inrf.Error, match=str(bad)):
        lazy.decode_batch([5, 6], 4)
    with pytest.raises(inrf.Error, match=str(bad)):
        lazy.verify()


def test_error_type():
    assert issubclass(inrf.Error, Exception)
    e = inrf.Error("x")
    assert e.status is None and e.name is None
    assert inrf.__version__ == inrf._inrf.version

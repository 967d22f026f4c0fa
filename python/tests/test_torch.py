"""inrf.torch on the CPU: Loader batches against the batch decoder with the
sampler's indices and windows, rank slices, resume, progressive resizing,
PackDataset in forked DataLoader workers, errors."""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import inrf  # noqa: E402
from inrf import _inrf  # noqa: E402
from inrf.torch import Loader, PackDataset  # noqa: E402

MEAN = (0.49, 0.48, 0.45)
STD = (0.25, 0.24, 0.26)
NP = {torch.float32: np.float32, torch.float16: np.float16, torch.uint8: np.uint8}


def c_pack(pack):
    return getattr(pack, "_pack", pack)


def reference(pack, sampler, b, w, h, dtype, augment, mean, std):
    """Batch b decoded by Pack.decode_batch with the sampler's draw."""
    idx, win = sampler.batch(b, w, h)
    idx = np.frombuffer(idx, dtype=np.uint32)
    win = np.frombuffer(win, dtype=np.float32)
    out = np.empty((len(idx), h, w, pack.channels), dtype=NP[dtype])
    pack.decode_batch(idx, (w, h), windows=win, out=out, dtype=str(dtype).split(".")[-1],
                      mean=mean, std=std, zero_outside=augment == "crop-flip")
    labels = np.array([pack.labels[i] for i in idx], dtype=np.int64)
    return out, labels


@pytest.mark.parametrize("augment", [None, "crop-flip", "rrc-flip"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.uint8])
def test_loader_equals_decode_batch(mixed_pack, augment, dtype):
    pack = inrf.Pack(mixed_pack)
    norm = dtype != torch.uint8
    loader = Loader(mixed_pack, batch_size=8, size=(20, 16), augment=augment, shuffle=True,
                    drop_last=False, dtype=dtype, mean=MEAN if norm else None,
                    std=STD if norm else None, seed=7)
    sampler = _inrf.Sampler(c_pack(pack), 8, shuffle=True, drop_last=False, augment=augment,
                            seed=7)
    assert len(loader) == sampler.batches == 5
    for epoch in (0, 3):
        loader.set_epoch(epoch)
        sampler.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == 5
        for b, (images, labels) in enumerate(batches):
            ref, ref_labels = reference(pack, sampler, b, 20, 16, dtype, augment,
                                        MEAN if norm else None, STD if norm else None)
            n = len(ref)
            assert images.shape == (n, 3, 16, 20) and images.dtype == dtype
            assert images.is_contiguous(memory_format=torch.channels_last)
            assert labels.dtype == torch.int64 and labels.tolist() == ref_labels.tolist()
            got = images.permute(0, 2, 3, 1).numpy()
            assert got.tobytes() == ref.tobytes(), "batch %d of epoch %d differs" % (b, epoch)
        assert [len(x[1]) for x in batches] == [8, 8, 8, 8, 5]


def test_epochs_and_seeds_differ(mixed_pack):
    loader = Loader(mixed_pack, batch_size=37, size=8, augment="crop-flip", drop_last=False)
    first = next(iter(loader))[1].tolist()
    loader.set_epoch(1)
    second = next(iter(loader))[1].tolist()
    assert sorted(first) == sorted(second) and first != second


def global_order(pack, world, drop_last, batch_size=4, seed=3, epoch=2):
    """Per rank, the indices of each batch (the sampler the Loader uses)."""
    ranks = []
    for r in range(world):
        s = _inrf.Sampler(c_pack(pack), batch_size, shuffle=True, drop_last=drop_last, rank=r,
                          world_size=world, seed=seed)
        s.set_epoch(epoch)
        ranks.append([list(s.batch(b, 8, 8)[0]) for b in range(s.batches)])
    return ranks


@pytest.mark.parametrize("drop_last", [False, True])
def test_rank_slices_partition(mixed_pack, drop_last):
    pack = inrf.Pack(mixed_pack)
    n = len(pack)
    whole = [i for batch in global_order(pack, 1, drop_last)[0] for i in batch]
    for world in (1, 2, 3, 4):
        loaders = [Loader(mixed_pack, batch_size=4, size=8, augment=None, drop_last=drop_last,
                          seed=3, rank=r, world_size=world) for r in range(world)]
        lengths = {len(ld) for ld in loaders}
        assert len(lengths) == 1, "ranks of world %d differ in batches" % world
        samples = {ld.samples for ld in loaders}
        assert len(samples) == 1
        ranks = global_order(pack, world, drop_last)
        assert all(len(r) == len(ranks[0]) for r in ranks)
        assert all([len(b) for b in r] == [len(b) for b in ranks[0]] for r in ranks)
        seen = [i for r in ranks for batch in r for i in batch]
        if drop_last:
            assert len(seen) == len(set(seen)) == n - loaders[0].dropped
            assert len(seen) % (4 * world) == 0
        else:
            assert set(seen) == set(range(n))
            assert len(seen) == n + loaders[0].padded and loaders[0].padded < world
        # the global order is the same for any world size: position
        # (b * B + j) * W + r holds sample j of rank r's batch b
        order = {}
        for r, batches in enumerate(ranks):
            for b, batch in enumerate(batches):
                for j, i in enumerate(batch):
                    order[(b * 4 + j) * world + r] = i
        flat = [order[p] for p in sorted(order)]
        k = min(len(flat), len(whole), n)
        assert flat[:k] == whole[:k]
        # the Loader delivers its rank's slice: its labels are the slice's
        pack_labels = list(pack.labels)
        for r, ld in enumerate(loaders):
            ld.set_epoch(2)
            got = [lab for _, labels in ld for lab in labels.tolist()]
            assert got == [pack_labels[i] for batch in ranks[r] for i in batch]


def test_rank_defaults_from_torch_distributed(mixed_pack, monkeypatch):
    dist = torch.distributed
    monkeypatch.setattr(dist, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_rank", lambda *a: 2)
    monkeypatch.setattr(dist, "get_world_size", lambda *a: 3)
    loader = Loader(mixed_pack, batch_size=4, size=8)
    assert (loader.rank, loader.world_size) == (2, 3)
    explicit = Loader(mixed_pack, batch_size=4, size=8, rank=0, world_size=1)
    assert (explicit.rank, explicit.world_size) == (0, 1)


@pytest.mark.parametrize("drop_last", [False, True])
def test_state_dict_resumes_mid_epoch(mixed_pack, drop_last):
    args = dict(batch_size=5, size=12, augment="rrc-flip", drop_last=drop_last, seed=11,
                rank=1, world_size=2)
    a = Loader(mixed_pack, **args)
    a.set_epoch(4)
    it = iter(a)
    for _ in range(2):
        next(it)
    state = a.state_dict()
    assert state["epoch"] == 4 and state["batch"] == 2
    rest = list(it)
    assert rest
    b = Loader(mixed_pack, **args)
    b.load_state_dict(state)
    b.set_epoch(4)  # the training loop's call keeps the position
    resumed = list(b)
    assert len(resumed) == len(rest)
    for (x, y), (u, v) in zip(rest, resumed):
        assert torch.equal(x, u) and torch.equal(y, v)
    # then the next epoch starts at its first batch
    b.set_epoch(5)
    assert len(list(b)) == len(b)
    # an order that would differ is refused
    other = Loader(mixed_pack, **dict(args, world_size=3))
    with pytest.raises(inrf.Error, match="world_size"):
        other.load_state_dict(state)
    with pytest.raises(inrf.Error, match="seed"):
        Loader(mixed_pack, **dict(args, seed=12)).load_state_dict(state)


def test_size_changes_between_epochs(mixed_pack):
    pack = inrf.Pack(mixed_pack)
    loader = Loader(mixed_pack, batch_size=16, size=32, augment="crop-flip", mean=MEAN,
                    std=STD, seed=5)
    sampler = _inrf.Sampler(c_pack(pack), 16, drop_last=True, augment="crop-flip", seed=5)
    for epoch, size in ((0, 8), (1, 24), (2, (12, 20))):
        loader.size = size
        loader.set_epoch(epoch)
        sampler.set_epoch(epoch)
        w, h = (size, size) if isinstance(size, int) else size
        for b, (images, _) in enumerate(loader):
            assert images.shape[2:] == (h, w)
            ref, _ = reference(pack, sampler, b, w, h, torch.float32, "crop-flip", MEAN, STD)
            assert images.permute(0, 2, 3, 1).numpy().tobytes() == ref.tobytes()


def test_pack_dataset_in_forked_workers(mixed_pack):
    # torch's OpenMP threads run in the parent first
    x = torch.randn(256, 256)
    for _ in range(3):
        x = torch.tanh(x @ x.t() / 256)
    assert torch.get_num_threads() >= 1
    ds = PackDataset(mixed_pack, size=(10, 14))
    assert len(ds) == 37
    image, label = ds[3]
    assert image.shape == (3, 14, 10) and image.dtype == torch.float32
    assert 0 <= float(image.min()) and float(image.max()) <= 1
    ctx = torch.multiprocessing.get_context("fork")
    dl = torch.utils.data.DataLoader(ds, batch_size=6, num_workers=2, shuffle=False,
                                     multiprocessing_context=ctx, timeout=120)
    got = list(dl)
    images = torch.cat([g[0] for g in got])
    labels = torch.cat([g[1] for g in got])
    pack = inrf.Pack(mixed_pack)
    ref = np.empty((37, 14, 10, 3), np.float32)
    pack.decode_batch(np.arange(37, dtype=np.uint32), (10, 14), out=ref)
    assert images.permute(0, 2, 3, 1).numpy().tobytes() == ref.tobytes()
    assert labels.tolist() == list(pack.labels)
    with pytest.raises(IndexError):
        ds[37]


def test_errors(mixed_pack, tmp_path):
    with pytest.raises(inrf.Error):
        Loader(str(tmp_path / "missing.inrpack"), batch_size=4, size=8)
    bad = tmp_path / "bad.inrpack"
    bad.write_bytes(open(mixed_pack, "rb").read()[:200])
    with pytest.raises(inrf.Error):
        Loader(str(bad), batch_size=4, size=8)
    with pytest.raises(inrf.Error, match="dtype"):
        Loader(mixed_pack, batch_size=4, size=8, dtype=torch.float64)
    with pytest.raises(inrf.Error, match="augment"):
        Loader(mixed_pack, batch_size=4, size=8, augment="mixup")
    with pytest.raises(inrf.Error, match="size"):
        Loader(mixed_pack, batch_size=4, size=0)
    with pytest.raises(inrf.Error):
        Loader(mixed_pack, batch_size=0, size=8)
    with pytest.raises(inrf.Error):
        Loader(mixed_pack, batch_size=4, size=8, rank=2, world_size=2)
    with pytest.raises(inrf.Error, match="std"):
        Loader(mixed_pack, batch_size=4, size=8, std=(1, 0, 1))
    with pytest.raises(inrf.Error, match="uint8"):
        Loader(mixed_pack, batch_size=4, size=8, dtype=torch.uint8, mean=MEAN)
    with pytest.raises(inrf.Error, match="one a channel"):
        Loader(mixed_pack, batch_size=4, size=8, mean=(0.5, 0.5))
    with pytest.raises(inrf.Error, match="cpu or cuda"):
        Loader(mixed_pack, batch_size=4, size=8, device="meta")


def test_sampler_fill_checks_its_outputs(mixed_pack):
    pack = c_pack(inrf.Pack(mixed_pack))
    s = _inrf.Sampler(pack, 4, augment="crop-flip")
    labels = np.empty(4, np.int64)
    with pytest.raises(inrf.Error, match="images_out"):
        s.fill(0, 8, 8, np.empty((4, 8, 8, 3), np.float64), labels)
    with pytest.raises(inrf.Error, match="images_out"):
        s.fill(0, 8, 8, np.empty((4, 8, 7, 3), np.float32), labels)
    with pytest.raises(inrf.Error, match="labels_out"):
        s.fill(0, 8, 8, np.empty((4, 8, 8, 3), np.float32), np.empty(4, np.int32))
    with pytest.raises(inrf.Error, match="batch 10"):
        s.fill(10, 8, 8, np.empty((4, 8, 8, 3), np.float32), labels)
    ro = np.empty((4, 8, 8, 3), np.float32)
    ro.setflags(write=False)
    with pytest.raises(inrf.Error, match="images_out"):
        s.fill(0, 8, 8, ro, labels)
    with pytest.raises(inrf.Error, match="mean: 2 values, 3 wanted"):
        s.fill(0, 8, 8, np.empty((4, 8, 8, 3), np.float32), labels, mean=(0.5, 0.5))
    assert s.fill(0, 8, 8, np.empty((4, 8, 8, 3), np.float32), labels) == 4


def example():
    top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
    return os.path.join(top, "examples", "train_resnet18.py")


SHORT = ["--epochs", "1", "--batch-size", "8", "--size", "16", "--max-steps", "2", "--threads",
         "1"]


def test_train_resnet18_example(mixed_pack):
    pytest.importorskip("torchvision")
    r = subprocess.run([sys.executable, example(), str(mixed_pack), "--val", str(mixed_pack)]
                       + SHORT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "inrf.torch.Loader" in r.stdout
    assert "images/s" in r.stdout and "val accuracy" in r.stdout
    # the same script on the pack's source images through torchvision
    src = os.path.join(os.path.dirname(str(mixed_pack)), "src")
    r = subprocess.run([sys.executable, example(), "--data-dir", src, "--workers", "0"] + SHORT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "ImageFolder" in r.stdout and "train accuracy" in r.stdout


def test_train_resnet18_ddp(mixed_pack):
    """--ddp with two processes on the CPU (gloo), as torchrun starts them:
    each rank's Loader takes its slice from torch.distributed, and equal
    batch counts let the run end (no collective waits for a missing rank)."""
    pytest.importorskip("torchvision")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, example(), str(mixed_pack), "--ddp",
                                       "--device", "cpu"] + SHORT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert "x 2 processes" in outs[0][0] and "images/s" in outs[0][0]
    assert outs[1][0] == ""  # rank 1 prints nothing

"""inrf.torch: PyTorch training data from an .inrpack.

Loader decodes whole batches in C (libinrf's batch decoder on the CPU, the
CUDA decoder on a GPU) straight into the tensors' memory (on a GPU, memory
torch allocates, on torch's current stream), in the order and with the augmentation of libinrf's epoch sampler (inrf/sampler.h):

    loader = Loader("train.inrpack", batch_size=512, size=32, augment="crop-flip",
                    device="cuda", dtype=torch.float16, mean=MEAN, std=STD)
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for images, labels in loader:   # N,C,H,W channels_last; int64 labels
            ...

PackDataset is the map-style dataset (CPU tensors) for a plain DataLoader,
DistributedSampler or debugging.
"""

import os
import threading
import weakref

import numpy
import torch
import torch.utils.data

from . import _inrf

__all__ = ["Loader", "PackDataset"]

_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.uint8: "uint8"}
_AUGMENTS = (None, "crop-flip", "rrc-flip")


def _open(pack_or_path):
    """(the pack object, its C pack, its path or None)."""
    if isinstance(pack_or_path, (str, bytes, os.PathLike)):
        import inrf

        pack = inrf.Pack(os.fsdecode(pack_or_path))
    else:
        pack = pack_or_path
    return pack, getattr(pack, "_pack", pack), getattr(pack, "path", None)


def _dtype_name(dtype):
    if dtype in _DTYPES:
        return _DTYPES[dtype]
    if isinstance(dtype, str) and dtype in _DTYPES.values():
        return dtype
    raise _inrf.Error("dtype %r: torch.float32, torch.float16 or torch.uint8" % (dtype,))


def _size_pair(size):
    if isinstance(size, int):
        return size, size
    try:
        w, h = size
        return int(w), int(h)
    except (TypeError, ValueError):
        raise _inrf.Error("size %r: an int or a (width, height) pair" % (size,)) from None


# The device copies of packs: one per (pack file, device) in a process,
# shared by every Loader of that pack, and freed with the last of them.
_device_packs = weakref.WeakValueDictionary()
_device_packs_lock = threading.Lock()


def _pack_key(cpack, path):
    if path is None:
        return ("object", id(cpack))
    try:
        st = os.stat(path)
        return ("file", os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        return ("object", id(cpack))


def device_pack(pack_or_path, device):
    """The CudaPack of this pack on `device` (a torch.device or index),
    uploaded at the first call for that pack file and device, shared after."""
    _, cpack, path = _open(pack_or_path)
    index = torch.device(device).index if not isinstance(device, int) else device
    if index is None:
        index = torch.cuda.current_device() if torch.cuda.is_available() else 0
    key = (_pack_key(cpack, path), index)
    with _device_packs_lock:
        cp = _device_packs.get(key)
        if cp is None:
            cp = _inrf.CudaPack(cpack, index)
            _device_packs[key] = cp
        return cp


def _distributed():
    """(rank, world_size) of an initialised torch.distributed, else (0, 1)."""
    dist = getattr(torch, "distributed", None)
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Loader:
    """Batches of an .inrpack as (images, labels) tensors on `device`.

    images: N x C x H x W in channels_last memory (an NHWC tensor
    permuted), of dtype float32 ((v - mean) / std with v in [0, 1]), float16
    (the same, rounded) or uint8 (0..255; mean and std do not apply);
    labels: int64 on the device. Each batch is one C call: the sampler's
    draw and the batch decoder, without the GIL; on a GPU the decode is
    queued on torch's current stream, into memory torch allocated.

    augment: "crop-flip" (the whole image shifted by up to `pad` output
    pixels, default size / 8, the outside zero, then mirrored with
    probability 1/2: CIFAR's RandomCrop(padding) + RandomHorizontalFlip),
    "rrc-flip" (RandomResizedCrop(scale, ratio) + flip) or None.

    rank, world_size: this process's slice (default: torch.distributed's
    when initialised, else 0 and 1). Every rank gets the same number of
    batches; with drop_last=False the last slices are padded by wrapping to
    the start of the epoch's order (as DistributedSampler does: the padded
    attribute counts the repeats), with drop_last=True the tail that does not
    fill a batch on every rank is dropped (the dropped attribute). The same
    seed gives the same global order for any world size.

    set_epoch(e) selects the epoch's order and windows (an epoch iterated
    again without set_epoch repeats them). size may change between epochs
    (progressive resizing). state_dict()/load_state_dict() resume
    mid-epoch: the batches not yet delivered, exactly.
    """

    def __init__(self, pack, batch_size, size, augment="crop-flip", shuffle=True,
                 drop_last=True, device="cpu", dtype=torch.float32, mean=None, std=None,
                 seed=0, rank=None, world_size=None, threads=0, pad=0, scale=None,
                 ratio=None):
        if augment not in _AUGMENTS:
            raise _inrf.Error("augment %r: None, 'crop-flip' or 'rrc-flip'" % (augment,))
        self._pack, cpack, self._path = _open(pack)
        self.device = torch.device(device)
        self.dtype = dtype
        self._dtype_name = _dtype_name(dtype)
        if self._dtype_name == "uint8" and (mean is not None or std is not None):
            raise _inrf.Error("mean and std apply to float outputs, not uint8")
        self.mean = None if mean is None else tuple(float(m) for m in _triple(mean))
        self.std = None if std is None else tuple(float(s) for s in _triple(std))
        channels = _channels(self._pack)
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v is not None and len(v) not in (1, channels):
                raise _inrf.Error("%s %r: one value for all channels or one a channel (%d)"
                                  % (name, v, channels))
        if self.std is not None and not all(0 < s < float("inf") for s in self.std):
            raise _inrf.Error("std %r: every value finite and > 0" % (self.std,))
        drank, dworld = _distributed()
        self.rank = drank if rank is None else int(rank)
        self.world_size = dworld if world_size is None else int(world_size)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.augment = augment
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.threads = int(threads)
        self._count = len(self._pack)
        self._sampler = _inrf.Sampler(cpack, self.batch_size, shuffle=self.shuffle,
                                      drop_last=self.drop_last, rank=self.rank,
                                      world_size=self.world_size, augment=augment,
                                      pad=int(pad), seed=self.seed, scale=scale, ratio=ratio)
        self.size = size
        self._channels = _channels(self._pack)
        self._cuda = None
        if self.device.type == "cuda":
            if self.device.index is None:
                self.device = torch.device("cuda", torch.cuda.current_device())
            self._cuda = device_pack(self._pack, self.device.index)
        elif self.device.type != "cpu":
            raise _inrf.Error("device %s: cpu or cuda" % self.device)
        self._epoch = 0
        self._next = 0
        self._resume = None  # (epoch, batch) from load_state_dict

    # ---------------------------------------------------------- settings

    @property
    def size(self):
        """The output size, int (square) or (width, height); settable
        between batches (progressive resizing)."""
        return self._size

    @size.setter
    def size(self, size):
        w, h = _size_pair(size)
        if not (1 <= w <= 65536 and 1 <= h <= 65536):
            raise _inrf.Error("size %r: width and height are 1..65536" % (size,))
        self._size = size
        self._wh = (w, h)

    @property
    def padded(self):
        """Samples repeated (wrapped) an epoch over all ranks (drop_last=False)."""
        return self._sampler.padded

    @property
    def dropped(self):
        """Images left out an epoch over all ranks (drop_last=True)."""
        return self._sampler.dropped

    @property
    def samples(self):
        """Samples this rank gets an epoch."""
        return self._sampler.samples

    @property
    def epoch(self):
        return self._epoch

    def set_epoch(self, epoch):
        """Makes `epoch` current: its order and windows. The next iteration
        starts at its first batch, unless load_state_dict() left a position
        in this very epoch."""
        epoch = int(epoch)
        self._sampler.set_epoch(epoch)
        self._epoch = epoch
        if self._resume is not None and self._resume[0] == epoch:
            self._next = self._resume[1]
        else:
            self._next = 0
        self._resume = None

    def __len__(self):
        return self._sampler.batches

    # --------------------------------------------------------- iteration

    def __iter__(self):
        start = self._next
        self._resume = None
        batches = self._sampler.batches
        for b in range(start, batches):
            self._next = b + 1
            yield self._batch(b)
        self._next = 0

    def _batch(self, b):
        n = self._sampler.batch_len(b)
        w, h = self._wh
        shape = (n, h, w, self._channels)
        if self._cuda is None:
            # The memory comes from numpy's malloc, torch's tensor over it
            # (zero copy): torch's CPU allocator maps fresh pages for every
            # large tensor (torch 1.13: ~700 page faults a 3 MB batch, a
            # fifth of the decode's time), where malloc reuses what the
            # batches before freed.
            out = numpy.empty(shape, dtype=self._dtype_name)
            lab = numpy.empty(n, dtype=numpy.int64)
            self._sampler.fill(b, w, h, out, lab, self._dtype_name, self.mean, self.std,
                               self.threads)
            images, labels = torch.from_numpy(out), torch.from_numpy(lab)
        else:
            images = torch.empty(shape, dtype=self.dtype, device=self.device)
            host = torch.empty(n, dtype=torch.int64, pin_memory=True)
            stream = torch.cuda.current_stream(self.device)
            self._sampler.fill(b, w, h, images, host.numpy(), self._dtype_name, self.mean,
                               self.std, self.threads, cuda_pack=self._cuda,
                               stream=stream.cuda_stream)
            labels = host.to(self.device, non_blocking=True)
        # N,H,W,C memory seen as N,C,H,W: torch.channels_last
        return images.permute(0, 3, 1, 2), labels

    # ------------------------------------------------------ checkpoints

    def state_dict(self):
        """Where the loader is: the epoch, the next batch of it, and what
        the order depends on (checked by load_state_dict)."""
        return {"epoch": self._epoch, "batch": self._next, "seed": self.seed,
                "images": self._count, "world_size": self.world_size, "rank": self.rank,
                "batch_size": self.batch_size, "shuffle": self.shuffle,
                "drop_last": self.drop_last}

    def load_state_dict(self, state):
        """Resumes at state's epoch and batch: the next iteration delivers
        exactly the batches an uninterrupted run had left (set_epoch to that
        same epoch keeps the position)."""
        for key, mine in (("images", self._count), ("seed", self.seed),
                          ("world_size", self.world_size), ("batch_size", self.batch_size),
                          ("shuffle", self.shuffle), ("drop_last", self.drop_last)):
            if key in state and state[key] != mine:
                raise _inrf.Error("load_state_dict: %s %r in the state, %r in this loader "
                                  "(the order would differ)" % (key, state[key], mine))
        epoch, batch = int(state["epoch"]), int(state["batch"])
        self._sampler.set_epoch(epoch)
        if not 0 <= batch <= self._sampler.batches:
            raise _inrf.Error("load_state_dict: batch %d of an epoch of %d batches"
                              % (batch, self._sampler.batches))
        self._epoch = epoch
        self._next = batch if batch < self._sampler.batches else 0
        self._resume = (epoch, self._next)


def _triple(values):
    if isinstance(values, (int, float)):
        return (values,)
    return tuple(values)


def _channels(pack):
    c = getattr(pack, "channels", None)
    if c is None:
        raise _inrf.Error("pack has no channel count")
    return int(c)


class PackDataset(torch.utils.data.Dataset):
    """Map-style dataset over an .inrpack: item i is (image, label), image a
    C x H x W float32 CPU tensor in [0, 1] decoded at `size` (int or
    (width, height); None: the image's own size), then transform(image) if
    given. Decodes on the calling thread (threads=1): the DataLoader's
    workers are the parallelism. Forked workers share the parent's mapping
    of the pack (libinrf's threads start afresh after fork, and no OpenMP
    runs here); spawned workers reopen the pack from its path."""

    def __init__(self, pack_or_path, size=None, transform=None):
        self._pack, _, self._path = _open(pack_or_path)
        self.size = size
        self.transform = transform
        self._labels = [int(x) for x in self._pack.labels]
        self._channels = _channels(self._pack)

    def __getstate__(self):
        if self._path is None:
            raise TypeError("a PackDataset over a pack without a path cannot be pickled")
        state = dict(self.__dict__)
        del state["_pack"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._pack, _, _ = _open(self._path)

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, i):
        i = int(i)
        n = len(self._labels)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("image %d of a pack of %d" % (i, n))
        if self.size is None:
            w, h = self._pack.sizes[i]
        else:
            w, h = _size_pair(self.size)
        out = torch.empty((1, h, w, self._channels), dtype=torch.float32)
        self._pack.decode_batch([i], (w, h), out=out.numpy(), dtype="float32", threads=1)
        image = out[0].permute(2, 0, 1)
        if self.transform is not None:
            image = self.transform(image)
        return image, self._labels[i]

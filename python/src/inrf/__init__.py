"""inrf: images stored as tiny neural networks (SIREN), from Python.

Read an .inrf file and decode it at any size, encode an image, and decode
batches of a labelled .inrpack for training::

    import inrf
    img = inrf.read("photo.inrf")              # header, kind, layers, psnr, bytes
    a = img.decode(size=(448, 448))            # numpy uint8 H x W x C
    inrf.encode("cat.jpg", "cat.inrf", effort=5, max_bytes=3000)
    pack = inrf.Pack("train.inrpack")          # len, classes, labels, psnr, sizes
    x = pack.decode_batch([0, 1, 2], size=32)  # float32 N x H x W x C

The work is libinrf's, in C (the extension module inrf._inrf, on CPython's
stable ABI), with the GIL released while it runs. Every failure raises
inrf.Error carrying the library's message, which names the file and the
field at fault. ``inrf.torch`` holds the PyTorch data loader.
"""

import json as _json

import numpy as _np

from . import _inrf
from ._inrf import Error

__all__ = ["Error", "Image", "Pack", "read", "encode", "__version__"]

#: libinrf's version ("0.1.0").
__version__ = _inrf.version

_BATCH_TYPES = {"uint8": (_inrf.BATCH_U8, _np.uint8),
                "float32": (_inrf.BATCH_F32, _np.float32),
                "float16": (_inrf.BATCH_F16, _np.float16)}


def _invalid(where, text):
    """inrf.Error for a bad argument, as the C side raises it:
    INRF_E_INVALID_ARG, the message naming the file."""
    e = Error("%s: %s" % (where, text))
    e.status, e.name = 1, "INRF_E_INVALID_ARG"
    return e


def _dtype_name(dtype, allowed, where):
    """The name of a dtype given as a string, a numpy dtype or type, or a
    torch dtype (whose str() ends with the name)."""
    if dtype is None:
        return "float32"
    try:
        name = _np.dtype(dtype).name
    except TypeError:
        name = str(dtype).rsplit(".", 1)[-1]
    if name not in allowed:
        raise _invalid(where, "dtype: %s is not one of %s" % (dtype, ", ".join(allowed)))
    return name


def _shorter_side(w, h, n):
    """inrdec's --size N: the shorter side n pixels, the other scaled and
    rounded to nearest (halves up), at least 1."""
    def scale(a, d):
        return max(1, (2 * a * n + d) // (2 * d))
    return (n, scale(h, w)) if w <= h else (scale(w, h), n)


def _size(size, w, h, where):
    if size is None:
        return w, h
    if isinstance(size, (int, _np.integer)) and not isinstance(size, bool):
        if size < 1:
            raise _invalid(where, "size: %d is not a positive number of pixels" % size)
        return _shorter_side(w, h, int(size))
    try:
        sw, sh = size
        return int(sw), int(sh)
    except (TypeError, ValueError):
        raise TypeError("size: an int (the shorter side) or a (width, height) pair, not %r"
                        % (size,)) from None


class Image(_inrf.Image):
    """A parsed .inrf model: ``width``, ``height``, ``channels``, ``kind``
    ("siren"), ``layers`` (a dict per weight layer: in, out, encoding,
    bias_encoding, pruned, nnz, ...), ``arch`` (dict), ``psnr`` (dB, or
    None when not stored), ``nbytes`` (the file's size), ``params``,
    ``format_version``, ``chunks``; ``decode()``, ``info()``, ``save()``,
    ``to_bytes()``. Made by :func:`read`, :func:`encode` and
    :meth:`Pack.image`."""

    __slots__ = ()

    @property
    def kind(self):
        """The network kind, as inrinfo --json names it ("siren")."""
        return self._kind()["kind"]

    @property
    def layers(self):
        """The weight layers (the last is the linear output layer)."""
        return self._kind().get("layer_table", [])

    @property
    def arch(self):
        """The architecture (kind, layers, widths, omegas) as a dict."""
        return _json.loads("{" + self._arch_json + "}")

    def _kind(self):
        return _json.loads("{" + self._kind_json + "}")

    def decode(self, size=None, crop=None, dtype="uint8", window=None, out=None, threads=0):
        """Decodes to a numpy array, height x width x channels.

        size: None (the source size), an int (the shorter side, the aspect
        ratio kept, as inrdec --size N) or (width, height). crop: (x, y, w,
        h), the w x h pixels at (x, y) of the image decoded at that size,
        bit for bit the same pixels (inrdec --crop). window: (x0, y0, x1, y1)
        in the normalised coordinates of spec/inrf.md "Decoding" (default
        -1, -1, 1, 1; x0 > x1 mirrors), decoded at size. dtype: "uint8" or
        "float32" (in [0, 1]). out: an array to fill instead (C-contiguous,
        of that shape and dtype). threads: at most this many (0: all)."""
        name = _dtype_name(dtype, ("uint8", "float32"), self.source)
        w, h = _size(size, self.width, self.height, self.source)
        canvas = None
        if crop is not None and window is not None:
            raise _invalid(self.source, "crop and window cannot be used together")
        if crop is not None:
            try:
                x, y, cw, ch = (int(v) for v in crop)
            except (TypeError, ValueError):
                raise TypeError("crop: (x, y, width, height) in pixels, not %r" % (crop,)) from None
            canvas = (x, y, w, h)
            w, h = cw, ch
        if out is None:
            if w < 1 or h < 1 or w * h > 1 << 28:
                raise _invalid(self.source, "size: %dx%d is not 1..2^28 pixels" % (w, h))
            out = _np.empty((h, w, self.channels), dtype=name)
        self._decode(out, w, h, window=window, crop=canvas, float=name == "float32",
                     threads=threads)
        return out

    def info(self):
        """What ``inrinfo --json`` says of the file, as a dict (without
        "path"; a pack's image has no chunks)."""
        d = {"bytes": self.nbytes, "format_version": self.format_version,
             "width": self.width, "height": self.height, "channels": self.channels,
             "colour_space": self.colour_space}
        d.update(self._kind())
        d["parameters"] = self.params
        d["bits_per_pixel"] = self.nbytes * 8.0 / (self.width * self.height)
        d["psnr"] = self.psnr
        chunks = self.chunks
        wght = [c for c in chunks if c["type"] == "WGHT"]
        d["wght"] = {"compressed": self.compressed}
        if wght:
            d["wght"].update(compressed=bool(wght[0]["flags"] & 1),
                             stored_bytes=wght[0]["stored_bytes"],
                             raw_bytes=wght[0]["raw_bytes"])
        d["chunks"] = chunks
        d["checksums_ok"] = all(c["checksum"] != "bad" for c in chunks)
        return d

    def __reduce__(self):
        # pickled as its .inrf bytes (DataLoader workers, multiprocessing)
        return (read, (self.to_bytes(),))

    def __repr__(self):
        psnr = "" if self.psnr is None else ", %.2f dB" % self.psnr
        return "<inrf.Image %dx%dx%d, %s, %d bytes%s>" % (
            self.width, self.height, self.channels, self.summary, self.nbytes, psnr)


def read(src):
    """Reads an .inrf file: src is a path (str or os.PathLike) or the
    file's bytes (bytes, bytearray, memoryview). Returns an Image; a file
    that is not a whole, valid .inrf raises inrf.Error naming it."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return Image._from_bytes(src)
    return Image._read(src)


def encode(src, dst=None, effort=None, max_bytes=None, target_psnr=None, bpp=None, preset=None,
           threads=0, layers=None, hidden=None, w0=None, w0_hidden=None, lr=None, steps=None,
           prune=None, quant=None, qat=None, half_io=None, batch_pixels=None, seed=None,
           stats=False):
    """Fits a network to an image and returns it as an Image (and writes it
    to dst, atomically, when given).

    src: a PNG, JPEG or PNM path (read as inrenc reads it: grey stays
    grey), or a numpy uint8 array H x W x C (C 1 or 3) or H x W. The
    options are inrenc's, with the same defaults and ranges: effort 1..9
    (5), max_bytes, target_psnr (dB), bpp (bits per source pixel), preset
    ("auto", "cifar10", "flowers", "imagenet"), layers, hidden, w0,
    w0_hidden, lr, steps, prune (bool), quant ("none", "int8",
    "int8-row"), qat, half_io, batch_pixels, seed (1); threads (0: all,
    never changing the bytes). The same image and options give the same
    bytes as inrenc. stats=True returns (image, stats dict) instead."""
    if not isinstance(src, (str, bytes)) and hasattr(src, "__array__") and \
            not hasattr(src, "__fspath__"):
        src = _np.ascontiguousarray(src)
    image, st = Image._encode(src, dst, effort=effort, max_bytes=max_bytes,
                              target_psnr=target_psnr, bpp=bpp, preset=preset, threads=threads,
                              layers=layers, hidden=hidden, w0=w0, w0_hidden=w0_hidden, lr=lr,
                              steps=steps, prune=prune, quant=quant, qat=qat, half_io=half_io,
                              batch_pixels=batch_pixels, seed=seed)
    return (image, st) if stats else image


class Pack(_inrf.Pack):
    """An .inrpack, memory-mapped and verified: ``len(pack)``, ``classes``
    (names), ``labels`` (int64 array), ``sizes`` (N x 2 int64 array of
    width, height), ``psnr`` (float32 array, NaN where unknown),
    ``channels``, ``path``; ``pack[i]`` -> (uint8 H x W x C array at the
    source size, label); ``image(i)``; ``decode_batch(...)``.

    Pack(path, verify=True): verify=False checks the header and directory
    only, and each record as it is decoded."""

    def _column(self, key):
        cache = self.__dict__.setdefault("_columns", {})
        if not cache:
            n = len(self)
            cache["labels"] = _np.empty(n, _np.int64)
            cache["sizes"] = _np.empty((n, 2), _np.int64)
            cache["psnr"] = _np.empty(n, _np.float32)
            cache["archs"] = _np.empty(n, _np.int64)
            self._items(cache["labels"], cache["sizes"], cache["psnr"], cache["archs"])
            for a in cache.values():
                a.setflags(write=False)
        return cache[key]

    @property
    def labels(self):
        """The class of every image (int64 array, read-only)."""
        return self._column("labels")

    @property
    def sizes(self):
        """(width, height) of every image's source (N x 2 int64 array)."""
        return self._column("sizes")

    @property
    def psnr(self):
        """The stored quality of every image in dB (float32, NaN unknown)."""
        return self._column("psnr")

    @property
    def archs(self):
        """The pack's architectures (dicts, as Image.arch); image i has
        archs[pack.item(i)["arch"]]."""
        return [_json.loads("{" + a + "}") for a in self._archs_json]

    def image(self, i):
        """Image i as an Image (its model), to decode at any size."""
        return Image._from_pack(self, i)

    def __getitem__(self, i):
        """(uint8 H x W x C array at the source size, label) of image i."""
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        return self.image(i).decode(), int(self.labels[i])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def decode_batch(self, indices, size, windows=None, flip=None, out=None, dtype="float32",
                     mean=None, std=None, zero_outside=False, threads=0):
        """Decodes images indices[0..N) into one N x H x W x C batch, on all
        cores with the GIL released; returns out (allocated when None).

        size: an int (N x N) or (width, height). windows: None (the whole
        image) or N x 4 floats (x0, y0, x1, y1) in the normalised
        coordinates of spec/inrf.md "Decoding" (x0 > x1 mirrors). flip: None
        or N bools: sample s mirrored horizontally (its window's x0 and x1
        swapped). dtype: "float32" ((v - mean) / std, v in [0, 1]),
        "float16" (the same, rounded) or "uint8" (mean and std ignored).
        mean, std: one number or one per channel. zero_outside: samples
        whose coordinates fall outside the image are 0 (padded crops).
        out: a C-contiguous array of that shape and dtype to fill."""
        name = _dtype_name(dtype, tuple(_BATCH_TYPES), self.path)
        code, np_type = _BATCH_TYPES[name]
        if isinstance(size, (int, _np.integer)) and not isinstance(size, bool):
            w = h = int(size)
        else:
            try:
                w, h = (int(v) for v in size)
            except (TypeError, ValueError):
                raise TypeError("size: an int or a (width, height) pair, not %r"
                                % (size,)) from None
        if not (hasattr(indices, "__len__") or hasattr(indices, "__array__")):
            indices = list(indices)
        indices = _np.asarray(indices)
        if indices.dtype.kind not in "iu":
            if indices.size == 0:
                indices = indices.astype(_np.int64)
            else:
                raise _invalid(self.path, "indices: dtype %s, an integer array wanted"
                               % indices.dtype)
        indices = _np.ascontiguousarray(indices.reshape(-1))
        n = indices.shape[0]
        if windows is not None:
            windows = _np.ascontiguousarray(windows, dtype=_np.float32)
            if windows.shape not in ((n, 4), (4 * n,)):
                raise _invalid(self.path, "windows: shape %s, (%d, 4) wanted" % (windows.shape, n))
        if flip is not None:
            flip = _np.ascontiguousarray(flip, dtype=_np.bool_).reshape(-1)
        if out is None:
            if not (1 <= w <= 65536 and 1 <= h <= 65536):
                raise _invalid(self.path, "size: %dx%d outside 1..65536" % (w, h))
            out = _np.empty((n, h, w, self.channels), dtype=np_type)
        self._decode_batch(indices, w, h, out, code, windows=windows, flip=flip, mean=mean,
                           std=std, zero_outside=zero_outside, threads=threads)
        return out

    def __reduce__(self):
        # pickled as its path: the other process maps the file again
        return (type(self), (self.path,))

    def __repr__(self):
        return "<inrf.Pack %r: %d images, %d classes>" % (self.path, len(self),
                                                           len(self.classes))

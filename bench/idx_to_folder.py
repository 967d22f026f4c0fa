#!/usr/bin/env python3
"""idx_to_folder.py: writes an MNIST-style IDX image set (such as Debian's
dataset-fashion-mnist) as an ImageFolder of 8-bit grey PNGs, OUT/<class>/NNNNN.png,
the input that `inrpack create` and `inrtrain --train-dir` read.

Usage: idx_to_folder.py IMAGES.idx3-ubyte[.gz] LABELS.idx1-ubyte[.gz] OUT
                        [--per-class N] [--names fashion|digits]

Only the Python standard library is used (gzip, zlib, struct)."""
import argparse
import gzip
import os
import struct
import sys
import zlib

FASHION = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle_boot"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        sys.exit(f"idx_to_folder: {path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = data[4 + 4 * ndim:]
    size = 1
    for d in dims:
        size *= d
    if len(body) != size:
        sys.exit(f"idx_to_folder: {path}: {len(body)} bytes of data, expected {size}")
    return dims, body


def png_grey(width, height, pixels):
    """A minimal 8-bit greyscale PNG (filter 0 on every row)."""
    def chunk(kind, payload):
        c = struct.pack(">I", len(payload)) + kind + payload
        return c + struct.pack(">I", zlib.crc32(kind + payload) & 0xffffffff)
    rows = b"".join(b"\0" + pixels[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=0, help="first N of each class (0: all)")
    ap.add_argument("--names", choices=["fashion", "digits"], default="fashion")
    a = ap.parse_args()
    (n, h, w), pixels = read_idx(a.images)
    (nl,), labels = read_idx(a.labels)
    if nl != n:
        sys.exit(f"idx_to_folder: {n} images but {nl} labels")
    names = FASHION if a.names == "fashion" else [str(d) for d in range(10)]
    counts = [0] * len(names)
    written = 0
    for i in range(n):
        c = labels[i]
        if c >= len(names):
            sys.exit(f"idx_to_folder: image {i}: label {c} out of range")
        if a.per_class and counts[c] >= a.per_class:
            continue
        counts[c] += 1
        d = os.path.join(a.out, names[c])
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"{i:05d}.png")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(png_grey(w, h, pixels[i * w * h:(i + 1) * w * h]))
        os.replace(tmp, path)
        written += 1
    print(f"idx_to_folder: {written} images in {len(names)} classes under {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

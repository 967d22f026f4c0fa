#!/usr/bin/env python3
"""gpu_torch.py: the PyTorch baselines of bench/gpu, on the GPU.

Usage: gpu_torch.py [--jpegs LIST.txt] [--steps N] [--device D] [--smoke]

Prints CSV lines `what,images_per_s,image_steps_per_s,detail`
(image_steps_per_s: images x steps / seconds, for the fits; empty else):
- decode_cifar10 / decode_imagenet: the reference code's way of decoding a
  batch of SIRENs (one bmm per layer, then sin), 3 x 15 at 32x32 and
  10 x 40 at 224x224, fp32, random weights of the same shapes;
- fit_batched: a batched fit of 3 x 15 networks to 32x32 images (one bmm per
  layer over the whole batch, Adam, full-batch steps), --steps steps an
  image: our encoder's schedule as bench/gpu_encode prints it (default
  15,000: the cifar10 preset at effort 9, 5,000 + 10,000 steps);
- fit_loop: the reference per-image loop (one nn.Module SIREN, one image at
  a time), the same steps;
- nvjpeg: torchvision.io.decode_jpeg on the GPU, batched, over the JPEGs of
  --jpegs (Imagenette's 224x224), read into memory first; a batch that
  nvJPEG refuses is decoded one file at a time, a file it refuses alone on
  the CPU, and the count of those is in the detail.
Needs a CUDA build of torch and torchvision; never run by the build.
--device cpu --smoke runs every part on tiny batches on the CPU: a check of
the script itself where there is no GPU, not a figure.
"""
import argparse
import time

import torch

DEV = "cuda"


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def timed(fn, reps):
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t0) / reps


def coords(side):
    t = (torch.arange(side, device=DEV, dtype=torch.float32) * 2 + 1) / side - 1
    y, x = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], 1)


def siren_weights(batch, layers, width, out=3):
    dims = [2] + [width] * layers + [out]
    ws = [torch.randn(batch, dims[i + 1], dims[i], device=DEV) * 0.1 for i in range(len(dims) - 1)]
    bs = [torch.randn(batch, 1, dims[i + 1], device=DEV) * 0.1 for i in range(len(dims) - 1)]
    return ws, bs


def decode(ws, bs, xy, w0=30.0):
    h = xy.unsqueeze(0).expand(ws[0].shape[0], -1, -1)
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = torch.baddbmm(b, h, w.transpose(1, 2))
        if i + 1 < len(ws):
            h = torch.sin(w0 * h)
    return h.clamp(0, 1)


def bench_decode(name, layers, width, side, batch, chunk):
    ws, bs = siren_weights(batch, layers, width)
    xy = coords(side)

    def run():
        for c in range(0, batch, chunk):
            decode([w[c:c + chunk] for w in ws], [b[c:c + chunk] for b in bs], xy)

    t = timed(run, 5)
    print(f"decode_{name},{batch / t:.0f},,{layers}x{width} at {side}x{side} batch {batch}")


def bench_fit_batched(steps, batch):
    ws, bs = siren_weights(batch, 3, 15)
    params = [p.requires_grad_() for p in ws + bs]
    opt = torch.optim.Adam(params, lr=3e-3)
    xy = coords(32)
    target = torch.rand(batch, 1024, 3, device=DEV)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((decode(ws, bs, xy) - target) ** 2).mean()
        loss.backward()
        opt.step()

    t = timed(step, steps) * steps  # seconds for the whole fit
    print(f"fit_batched,{batch / t:.1f},{batch * steps / t:.0f},3x15 32x32 batch {batch}, "
          f"{steps} steps an image run: {t * 1e3 / steps:.2f} ms a step")


def bench_fit_loop(steps):
    net = torch.nn.Sequential(torch.nn.Linear(2, 15), torch.nn.Linear(15, 15),
                              torch.nn.Linear(15, 15), torch.nn.Linear(15, 3)).to(DEV)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xy = coords(32)
    target = torch.rand(1024, 3, device=DEV)

    def forward(x):
        for i, layer in enumerate(net):
            x = layer(x)
            if i + 1 < len(net):
                x = torch.sin(30.0 * x)
        return x

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((forward(xy) - target) ** 2).mean()
        loss.backward()
        opt.step()

    t = timed(step, steps) * steps  # seconds for the whole fit
    print(f"fit_loop,{1 / t:.3f},{steps / t:.0f},one image at a time, "
          f"{steps} steps run: {t * 1e3 / steps:.3f} ms a step")


def bench_nvjpeg(listfile, batch=256):
    import torchvision
    from torchvision.io import decode_jpeg, read_file
    paths = [p.strip() for p in open(listfile) if p.strip()]
    data = [read_file(p) for p in paths]

    cpu_files = set()  # indices of the files nvJPEG refuses alone
    split = set()  # first indices of the batches it refuses
    # lists of JPEGs: torchvision 0.19 and later (earlier ones raise
    # RuntimeError on a list, as on a file they refuse)
    batched = tuple(int(v) for v in torchvision.__version__.split(".")[:2]) >= (0, 19)

    def one(i):
        if i not in cpu_files:
            try:
                return decode_jpeg(data[i], device=DEV)
            except RuntimeError:
                cpu_files.add(i)
        return decode_jpeg(data[i], device="cpu")

    def run():
        for c in range(0, len(data), batch):
            if not batched:
                for i in range(c, min(c + batch, len(data))):
                    one(i)
                continue
            try:
                decode_jpeg(data[c:c + batch], device=DEV)
            except RuntimeError:  # a batch refused: file by file
                split.add(c)
                for i in range(c, min(c + batch, len(data))):
                    one(i)

    t = timed(run, 3)
    how = f"batches of {batch}" if batched else "one at a time (no batched decode_jpeg)"
    print(f"nvjpeg,{len(data) / t:.0f},,{len(data)} JPEGs, {how}, "
          f"{len(split)} batches refused and decoded file by file, "
          f"{len(cpu_files)} files refused by nvJPEG and decoded on the CPU, "
          f"torchvision {torchvision.__version__}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jpegs")
    ap.add_argument("--steps", type=int, default=15000,
                    help="fit steps an image (our encoder's schedule)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    global DEV
    DEV = a.device
    k = 64 if a.smoke else 1  # --smoke: batches 64 times smaller
    name = torch.cuda.get_device_name(0) if DEV == "cuda" else DEV
    print(f"# torch {torch.__version__}, {name}")
    print("what,images_per_s,image_steps_per_s,detail")
    bench_decode("cifar10", 3, 15, 32, 65536 // k, 8192 // k)
    bench_decode("imagenet", 10, 40, 224, max(512 // k, 1), max(32 // k, 1))
    steps = max(a.steps // k, 1)  # --smoke: 64 times fewer steps too
    bench_fit_batched(steps, 4096 // k)
    bench_fit_loop(steps)
    if a.jpegs:
        bench_nvjpeg(a.jpegs)


if __name__ == "__main__":
    main()

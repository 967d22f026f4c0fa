#!/usr/bin/env python3
"""torch_loader.py: images/s that inrf.torch.Loader delivers to a training
loop that does nothing, against torchvision's ImageFolder + DataLoader on
the same JPEGs, and against the same epoch loop in C (bench/pack_decode
--sampler); with --gpu, the CUDA Loader against DataLoader with 8 workers
and nvJPEG (torchvision.io.decode_jpeg on the GPU), and the GPU memory held
after each epoch. bench/torch-loader builds the packs and runs this.

Each figure: one epoch not timed (warm caches, started workers), then
--epochs epochs timed; the C loop and the Loader alternate --rounds times
and the best round of each and the medians are printed (the machine's
other work hits both).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

# bench/pack_decode's normalisation (CIFAR-10's statistics); the cost does
# not depend on the values.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cifar-pack", help="the 32 px pack (CIFAR-10 training images)")
    p.add_argument("--cifar-dir", help="the same JPEGs as an ImageFolder")
    p.add_argument("--inet-pack", help="the 224 px pack (Imagenette)")
    p.add_argument("--inet-dir", help="the same JPEGs as an ImageFolder")
    p.add_argument("--pack-decode", help="bench/pack_decode (the C loop)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs a figure")
    p.add_argument("--rounds", type=int, default=3, help="C/Loader alternations")
    p.add_argument("--workers", default="0,2", help="DataLoader workers to measure (CPU)")
    p.add_argument("--gpu", action="store_true", help="the GPU figures (needs CUDA)")
    p.add_argument("--gpu-workers", type=int, default=8)
    return p.parse_args()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(run_epoch, epochs, cpu=False):
    """images/s over `epochs` epochs after one not timed; with cpu, also
    images a second of this process's CPU time (all its threads)."""
    run_epoch(0)
    t0, c0 = time.perf_counter(), cpu_seconds()
    n = sum(run_epoch(e + 1) for e in range(epochs))
    rate = n / (time.perf_counter() - t0)
    return (rate, n / (cpu_seconds() - c0)) if cpu else rate


def loader_rate(pack, size, augment, epochs, batch, device="cpu", dtype=torch.float32):
    from inrf.torch import Loader
    loader = Loader(pack, batch_size=batch, size=size, augment=augment, drop_last=True,
                    device=device, dtype=dtype, mean=MEAN, std=STD)

    def epoch(e):
        loader.set_epoch(e)
        n = 0
        for images, labels in loader:
            n += labels.numel()
        if device != "cpu":
            torch.cuda.synchronize()
        return n
    return timed(epoch, epochs, cpu=True), loader


def c_rate(pack_decode, pack, size, augment, epochs, batch):
    r = subprocess.run([pack_decode, "--sampler", "--size", str(size), "--batch", str(batch),
                        "--epochs", str(epochs), "--augment", augment, pack],
                       capture_output=True, text=True, check=True)
    fields = r.stdout.strip().split(",")
    return float(fields[2]), float(fields[3])


def folder_rate(root, size, workers, epochs, batch, device="cpu"):
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder
    crop = T.RandomCrop(size, padding=size // 8) if size <= 64 else T.RandomResizedCrop(size)
    tf = T.Compose([crop, T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    ds = ImageFolder(root, tf)
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True,
                                     num_workers=workers, persistent_workers=workers > 0,
                                     pin_memory=device != "cpu")

    def epoch(e):
        n = 0
        for images, labels in dl:
            if device != "cpu":
                images = images.to(device, non_blocking=True)
                labels = labels.to(device, non_blocking=True)
            n += labels.numel()
        if device != "cpu":
            torch.cuda.synchronize()
        return n
    return timed(epoch, epochs)


def nvjpeg_rate(root, size, epochs, batch):
    """JPEG bytes read once, decoded by nvJPEG on the GPU a batch at a time,
    then RandomResizedCrop + flip + normalise on the GPU."""
    import torchvision
    import torchvision.transforms as T
    from torchvision.io import ImageReadMode, decode_jpeg
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                   if f.lower().endswith((".jpg", ".jpeg")))
    data = [torchvision.io.read_file(f) for f in files]
    crop = T.RandomResizedCrop(size, antialias=True) if "antialias" in \
        T.RandomResizedCrop.__init__.__code__.co_varnames else T.RandomResizedCrop(size)
    mean = torch.tensor(MEAN, device="cuda").view(3, 1, 1)
    std = torch.tensor(STD, device="cuda").view(3, 1, 1)

    def epoch(e):
        n = 0
        for first in range(0, len(data) - batch + 1, batch):
            out = []
            for d in data[first:first + batch]:
                img = decode_jpeg(d, mode=ImageReadMode.RGB, device="cuda")
                img = crop(img)
                if torch.rand(()) < 0.5:
                    img = img.flip(-1)
                out.append((img.float() / 255 - mean) / std)
            torch.stack(out)
            n += len(out)
        torch.cuda.synchronize()
        return n
    return timed(epoch, epochs)


def cases(a):
    """The two resolutions measured: (name, pack, its JPEG folder, size,
    augmentation), those whose pack was given."""
    return [c for c in (("32 px (CIFAR-10)", a.cifar_pack, a.cifar_dir, 32, "crop-flip"),
                        ("224 px (Imagenette)", a.inet_pack, a.inet_dir, 224, "rrc-flip"))
            if c[1]]


def cpu_figures(a):
    rows = []
    for name, pack, root, size, augment in cases(a):
        batch = a.batch_size if size <= 64 else min(a.batch_size, 64)
        loader, direct = [], []
        for _ in range(a.rounds):
            if a.pack_decode:
                direct.append(c_rate(a.pack_decode, pack, size, augment, a.epochs, batch))
            loader.append(loader_rate(pack, size, augment, a.epochs, batch)[0])
        row = {"name": name, "size": size, "batch": batch,
               "loader": max(x[0] for x in loader), "loader_all": [x[0] for x in loader],
               "loader_cpu": [x[1] for x in loader],
               "c": max(x[0] for x in direct) if direct else None,
               "c_all": [x[0] for x in direct], "c_cpu": [x[1] for x in direct]}
        for w in [int(x) for x in a.workers.split(",") if x != ""]:
            if root:
                row["dl%d" % w] = folder_rate(root, size, w, a.epochs, batch)
        rows.append(row)
        print_row(row, a)
    return rows


def print_row(r, a):
    print("%s, batch %d, %d CPUs:" % (r["name"], r["batch"], os.cpu_count()), flush=True)
    print("  Loader (CPU): best %.0f, median %.0f images/s (rounds: %s)"
          % (r["loader"], statistics.median(r["loader_all"]),
             ", ".join("%.0f" % x for x in r["loader_all"])))
    if r["c"]:
        print("  C loop (pack_decode --sampler): best %.0f, median %.0f images/s (rounds: %s)"
              % (r["c"], statistics.median(r["c_all"]), ", ".join("%.0f" % x for x in r["c_all"])))
        print("  Loader overhead over the C loop: %.1f %% (best of each), %.1f %% (medians)"
              % (100.0 * (r["c"] / r["loader"] - 1),
                 100.0 * (statistics.median(r["c_all"]) / statistics.median(r["loader_all"]) - 1)))
        lc, cc = statistics.median(r["loader_cpu"]), statistics.median(r["c_cpu"])
        print("  per CPU second (medians): Loader %.0f, C loop %.0f images; overhead %.1f %%"
              % (lc, cc, 100.0 * (cc / lc - 1)))
    for k in sorted(x for x in r if x.startswith("dl")):
        print("  ImageFolder + DataLoader, %s workers: %.0f images/s (the Loader's median "
              "%.1fx)" % (k[2:], r[k], statistics.median(r["loader_all"]) / r[k]))
    sys.stdout.flush()


def gpu_figures(a):
    all_same = True
    print("GPU: %s, torch %s" % (torch.cuda.get_device_name(), torch.__version__), flush=True)
    for name, pack, root, size, augment in cases(a):
        batch = a.batch_size
        # the first batch decoded on the GPU equals the CPU decoder's (uint8
        # and float32 bit for bit, float16 the float32 rounded)
        from inrf.torch import Loader
        same = []
        for dt in (torch.uint8, torch.float32, torch.float16):
            norm = {} if dt == torch.uint8 else {"mean": MEAN, "std": STD}
            args = dict(batch_size=64, size=size, augment=augment, seed=1, **norm)
            x = next(iter(Loader(pack, dtype=torch.float32 if dt == torch.float16 else dt,
                                 **args)))[0]
            y = next(iter(Loader(pack, device="cuda", dtype=dt, **args)))[0].cpu()
            same.append(torch.equal(x.to(dt), y))
        all_same = all_same and all(same)
        print("%s: the CUDA Loader's first batch equals the CPU's: uint8 %s, float32 %s, "
              "float16 %s" % ((name,) + tuple("yes" if s else "NO" for s in same)), flush=True)
        free0 = torch.cuda.mem_get_info()[0]
        (rate, _), loader = loader_rate(pack, size, augment, a.epochs, batch, device="cuda",
                                        dtype=torch.float16)
        print("%s, batch %d: CUDA Loader (float16) %.0f images/s" % (name, batch, rate),
              flush=True)
        # memory after each of 3 more epochs: torch's and the device's
        held = []
        for e in range(3):
            loader.set_epoch(100 + e)
            for images, labels in loader:
                pass
            torch.cuda.synchronize()
            held.append((torch.cuda.memory_allocated(), free0 - torch.cuda.mem_get_info()[0]))
        print("  GPU memory after 3 epochs: torch allocated %s MiB; device used by this "
              "process %s MiB (growth %s)"
              % (", ".join("%.1f" % (h[0] / 2**20) for h in held),
                 ", ".join("%.1f" % (h[1] / 2**20) for h in held),
                 "none" if held[2][1] <= held[0][1] else "%.1f MiB" % ((held[2][1] - held[0][1])
                                                                        / 2**20)), flush=True)
        del loader
        if root:
            r = folder_rate(root, size, a.gpu_workers, a.epochs, batch, device="cuda")
            print("  ImageFolder + DataLoader, %d workers, to the GPU: %.0f images/s"
                  % (a.gpu_workers, r), flush=True)
            try:
                r = nvjpeg_rate(root, size, a.epochs, batch)
                print("  nvJPEG (torchvision.io.decode_jpeg on cuda) + crop/flip/normalise: "
                      "%.0f images/s" % r, flush=True)
            except (RuntimeError, ImportError, TypeError) as e:
                print("  nvJPEG: not measured (%s)" % str(e).splitlines()[0], flush=True)
    return 0 if all_same else 1


def main():
    a = parse_args()
    if a.gpu:
        if not torch.cuda.is_available():
            print("torch_loader.py: --gpu but torch sees no CUDA device", file=sys.stderr)
            return 77
        return gpu_figures(a)
    else:
        cpu_figures(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())

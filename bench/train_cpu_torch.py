#!/usr/bin/env python3
# train_cpu_torch.py: PyTorch's CPU training throughput on the same problem as
# bench/train_cpu.c (ResNet-18, 3x3 stem, no max-pool, 32x32, batch 64, 10 classes).
"""Usage: train_cpu_torch.py THREADS [STEPS [BATCH]]

Times STEPS (default 5) SGD steps (momentum 0.9, weight decay 5e-4) after
one warm-up step and prints images/s. Needs torch and torchvision
(Debian: python3-torch python3-torchvision); never run by the build.
"""
import sys
import time

import torch
import torch.nn as nn
import torchvision


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    threads = int(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 3, 32, 32) * 2 - 1
    y = torch.arange(batch) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    dt = time.perf_counter() - t0
    print(f"torch {torch.__version__} cpu: {torch.get_num_threads()} threads, batch {batch}: "
          f"{steps * batch / dt:.1f} images/s ({dt / steps:.3f} s/step, loss {loss:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

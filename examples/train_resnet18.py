#!/usr/bin/env python3
"""train_resnet18.py: torchvision's ResNet-18 trained from an .inrpack with
inrf.torch.Loader, or (--data-dir) from an ImageFolder with torchvision's
DataLoader, for comparison; one process, or one per GPU under torchrun (--ddp).

    python3 examples/train_resnet18.py train.inrpack --val test.inrpack --epochs 10
    python3 examples/train_resnet18.py --data-dir cifar/train --val-dir cifar/test
    torchrun --nproc_per_node 4 examples/train_resnet18.py train.inrpack --ddp --device cuda
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ImageNet's statistics for large images, CIFAR-10's for small ones.
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CIFAR = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pack", nargs="?", help="the training .inrpack (unless --data-dir)")
    p.add_argument("--val", help="an .inrpack to measure accuracy on after each epoch")
    p.add_argument("--data-dir", help="train from this ImageFolder with torchvision instead")
    p.add_argument("--val-dir", help="with --data-dir: an ImageFolder for the accuracy")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256, help="per process")
    p.add_argument("--size", type=int, default=32, help="training resolution (pixels)")
    p.add_argument("--lr", type=float, default=0.2, help="peak learning rate (SGD, one cycle)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop each epoch after this many steps (0: whole epochs)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", action="store_true", help="float16 inputs and autocast (GPU)")
    p.add_argument("--stem", choices=("auto", "cifar", "imagenet"), default="auto",
                   help="cifar: a 3x3 stride-1 first convolution and no max-pool (auto: for "
                        "sizes up to 64)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (--data-dir)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ddp", action="store_true",
                   help="DistributedDataParallel under torchrun (rank and world from env)")
    a = p.parse_args(argv)
    if (a.pack is None) == (a.data_dir is None):
        p.error("give a pack or --data-dir (one of them)")
    return a


def make_model(classes, size, stem):
    import torchvision
    model = torchvision.models.resnet18(num_classes=classes)
    if stem == "cifar" or (stem == "auto" and size <= 64):
        model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = nn.Identity()
    return model


def pack_loaders(a, device, dtype, stats):
    import inrf
    from inrf.torch import Loader
    small = a.size <= 64
    train = Loader(a.pack, batch_size=a.batch_size, size=a.size,
                   augment="crop-flip" if small else "rrc-flip", shuffle=True, drop_last=True,
                   device=device, dtype=dtype, mean=stats[0], std=stats[1], seed=a.seed)
    val = None
    if a.val:
        val = Loader(a.val, batch_size=a.batch_size, size=a.size, augment=None, shuffle=False,
                     drop_last=False, device=device, dtype=dtype, mean=stats[0], std=stats[1])
    pack = inrf.Pack(a.pack)
    classes = getattr(pack, "classes", None)
    classes = len(classes) if classes is not None else max(pack.labels) + 1
    return train, val, classes


class ImageFolderLoader:
    """torchvision's DataLoader over an ImageFolder, with the Loader's interface."""

    def __init__(self, root, a, train, stats, device):
        import torchvision.transforms as T
        from torchvision.datasets import ImageFolder
        if train:
            crop = (T.RandomCrop(a.size, padding=a.size // 8) if a.size <= 64
                    else T.RandomResizedCrop(a.size))
            tf = T.Compose([crop, T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(*stats)])
        else:
            tf = T.Compose([T.Resize(a.size), T.CenterCrop(a.size), T.ToTensor(),
                            T.Normalize(*stats)])
        self.dataset = ImageFolder(root, tf)
        self.sampler = None
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            self.sampler = torch.utils.data.DistributedSampler(self.dataset, shuffle=train,
                                                               drop_last=train, seed=a.seed)
        self.loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=a.batch_size, shuffle=train and self.sampler is None,
            sampler=self.sampler, drop_last=train, num_workers=a.workers,
            pin_memory=device.type == "cuda", persistent_workers=a.workers > 0)
        self.device = device

    def set_epoch(self, epoch):
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield (x.to(self.device, non_blocking=True, memory_format=torch.channels_last),
                   y.to(self.device, non_blocking=True))


def evaluate(model, loader, device, amp):
    model.eval()
    correct = total = 0
    with torch.no_grad(), torch.autocast(device.type, enabled=amp):
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += y.numel()
    model.train()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        t = torch.tensor([correct, total], dtype=torch.float64, device=device)
        torch.distributed.all_reduce(t)
        correct, total = t.tolist()
    return 100.0 * correct / max(total, 1)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rank, world = 0, 1
    device = torch.device(a.device)
    if a.ddp:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    amp = a.amp and device.type == "cuda"
    dtype = torch.float16 if amp else torch.float32
    stats = CIFAR if a.size <= 64 else IMAGENET
    if a.data_dir:
        from torchvision.datasets import ImageFolder
        train = ImageFolderLoader(a.data_dir, a, True, stats, device)
        val = ImageFolderLoader(a.val_dir, a, False, stats, device) if a.val_dir else None
        classes = len(ImageFolder(a.data_dir).classes)
        source = "ImageFolder %s, DataLoader with %d workers" % (a.data_dir, a.workers)
    else:
        train, val, classes = pack_loaders(a, device, dtype, stats)
        source = "pack %s, inrf.torch.Loader on %s" % (a.pack, device)
    model = make_model(classes, a.size, a.stem).to(device, memory_format=torch.channels_last)
    if a.ddp:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    steps = len(train) if not a.max_steps else min(a.max_steps, len(train))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=max(1, a.epochs * steps),
                                                pct_start=0.25)
    scaler = torch.cuda.amp.GradScaler(enabled=amp)
    if rank == 0:
        print("resnet18, %d classes, %dx%d, batch %d x %d processes; %s"
              % (classes, a.size, a.size, a.batch_size, world, source), flush=True)
    for epoch in range(a.epochs):
        train.set_epoch(epoch)
        seen = correct = 0
        loss_sum = 0.0
        t0 = time.perf_counter()
        for step, (x, y) in enumerate(train):
            if step >= steps:
                break
            with torch.autocast(device.type, enabled=amp):
                out = model(x)
                loss = F.cross_entropy(out, y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            seen += y.numel()
            correct += (out.argmax(1) == y).sum().item()
            loss_sum += loss.item() * y.numel()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dt = time.perf_counter() - t0
        line = ("epoch %d: %d images in %.1f s, %.0f images/s (x %d processes), loss %.3f, "
                "train accuracy %.2f %%" % (epoch, seen, dt, seen / dt, world,
                                            loss_sum / max(seen, 1), 100.0 * correct / max(seen, 1)))
        if val is not None:
            line += ", val accuracy %.2f %%" % evaluate(model, val, device, amp)
        if rank == 0:
            print(line, flush=True)
    if a.ddp:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

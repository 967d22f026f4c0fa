#!/usr/bin/env python3
# gen_resnet18_golden.py: writes tests/golden/resnet18.bin, PyTorch's values
# for a narrow ResNet-18 that tests/test_resnet18.c must reproduce.
"""Usage: /usr/bin/python3 tests/gen_resnet18_golden.py [OUTPUT]

Needs torch and torchvision (Debian: python3-torch python3-torchvision);
never run by the build or CI. OUTPUT defaults to tests/golden/resnet18.bin.

For each variant (the 3x3 stem at 16x16, and the 7x7 stem with max-pool at
72x72) it builds torchvision's ResNet-18 layout with stage widths
w, 2w, 4w, 8w, gives the batch-norm layers random affine parameters and
running statistics (so that a mix-up between them shows), and records:
the initial state, the train-mode logits and loss of one batch, every
parameter's gradient, and the state after two SGD steps on that batch
(momentum 0.9, weight decay 5e-4 on convolution and linear weights only,
label smoothing 0.1), plus the eval-mode logits after those steps.

File layout (all little-endian):
  magic    8 bytes  89 54 52 47 4F 4C 44 0A  ("\\x89TRGOLD\\n")
  major    u16      1 (readers reject another)
  minor    u16      0 (readers accept newer)
  count    u32      number of tensors
  count times:
    name_len u16, name (ASCII, name_len bytes, no NUL)
    dtype    u8     0 = f32, 1 = i32
    ndim     u8     0..4
    dims     u32 x ndim
    data     4 bytes x prod(dims), row-major in PyTorch's own layout
             (activations NCHW, convolution weights (Cout,Cin,KH,KW))
Names: "<variant>/config" i32 [batch, height, width, classes, base_width,
small_stem]; "<variant>/hparams" f32 [lr, momentum, weight_decay,
label_smoothing]; "<variant>/input", "/labels", "/logits", "/loss" f32
[step 1, step 2], "/eval_logits"; "<variant>/init/<key>",
"<variant>/grad/<key>", "<variant>/step2/<key>" for state_dict keys
(num_batches_tracked left out).
"""
import struct
import sys

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, conv1x1, resnet18

MAGIC = b"\x89TRGOLD\n"
LR, MOMENTUM, WEIGHT_DECAY, SMOOTHING = 0.1, 0.9, 5e-4, 0.1

# name, seed, batch, height, width, classes, base width
VARIANTS = [
    ("small", 1, 4, 16, 16, 10, 5),
    ("large", 2, 2, 72, 72, 7, 4),
]


class ResNet18(nn.Module):
    """torchvision's ResNet-18 with stage widths w..8w; the same state_dict keys."""

    def __init__(self, width, classes, small_stem):
        super().__init__()
        self.inplanes = width
        if small_stem:
            self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(width, 1)
        self.layer2 = self._make_layer(2 * width, 2)
        self.layer3 = self._make_layer(4 * width, 2)
        self.layer4 = self._make_layer(8 * width, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def run_variant(name, seed, batch, height, width, classes, base):
    torch.manual_seed(seed)
    small = max(height, width) <= 64
    model = ResNet18(base, classes, small)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)
    x = torch.randn(batch, 3, height, width)
    labels = torch.randint(0, classes, (batch,))
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": WEIGHT_DECAY},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=SMOOTHING)
    out = {}
    out["config"] = torch.tensor([batch, height, width, classes, base, int(small)], dtype=torch.int32)
    out["hparams"] = torch.tensor([LR, MOMENTUM, WEIGHT_DECAY, SMOOTHING], dtype=torch.float32)
    out["input"] = x
    out["labels"] = labels.to(torch.int32)
    for k, v in state(model).items():
        out["init/" + k] = v
    model.train()
    losses = []
    for step in range(2):
        opt.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, labels)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            out["logits"] = logits.detach().clone()
            for k, p in model.named_parameters():
                out["grad/" + k] = p.grad.detach().clone()
        opt.step()
    out["loss"] = torch.tensor(losses, dtype=torch.float32)
    for k, v in state(model).items():
        out["step2/" + k] = v
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x)
    return {name + "/" + k: v for k, v in out.items()}


def write(path, tensors):
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<HHI", 1, 0, len(tensors)))
        for name, t in tensors.items():
            t = t.contiguous()
            dtype = {torch.float32: 0, torch.int32: 1}[t.dtype]
            enc = name.encode("ascii")
            f.write(struct.pack("<H", len(enc)) + enc + struct.pack("<BB", dtype, t.dim()))
            f.write(struct.pack("<%dI" % t.dim(), *t.shape))
            f.write(t.numpy().astype("<f4" if dtype == 0 else "<i4").tobytes())


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/resnet18.bin"
    torch.set_num_threads(1)
    # the narrow model keeps torchvision's names (and so the C model's)
    want = [k for k in resnet18().state_dict() if not k.endswith("num_batches_tracked")]
    assert list(state(ResNet18(64, 1000, False))) == want
    tensors = {}
    for v in VARIANTS:
        tensors.update(run_variant(*v))
    write(path, tensors)
    size = sum(t.numel() * 4 for t in tensors.values())
    print(f"{path}: {len(tensors)} tensors, {size} bytes of data", file=sys.stderr)


if __name__ == "__main__":
    main()

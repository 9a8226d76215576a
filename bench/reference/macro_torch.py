"""PyTorch reference for side-by-side benchmarks: NAS-Bench-Macro's network (Su et al., CVPR 2021;
MFNAS.md and issue 23), written from the description of the authors' train/model.py: stem 3x3 conv
to 32 channels + BN + ReLU; 8 layers in stages of 2, 3, 3, the first of each stage with stride 2
and twice the channels; a layer is identity ('0', a 1x1 conv + BN where the shape changes), an
inverted residual with kernel 3 / expansion 3 ('1') or kernel 5 / expansion 6 ('2') (1x1 conv,
BN, ReLU, depthwise conv, BN, ReLU, 1x1 conv, BN; a skip when the shape allows); head 1x1 conv to
1280 + BN + ReLU, global average pool, linear. Used by `npm run bench:*` and, as the reference
network for macro, by `npm run verify:torch` (verify_torch.py imports MacroNetwork).

Usage: python3 macro_torch.py --arch 22212220 --batch N --threads T --repeats R [--classes C] [--size S]
Prints one JSON line: {"median": seconds, "times": [...], "torch": version, "params": n}.
"""
import os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_torch import time_grad  # noqa: E402

STAGES = (2, 3, 3)
CHOICES = {'1': (3, 3), '2': (5, 6)}  # digit -> (kernel, expansion)


def conv_bn(cin, cout, k=1, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class Layer(nn.Module):
    def __init__(self, digit, cin, cout, stride):
        super().__init__()
        self.skip = digit != '0' and cin == cout and stride == 1
        if digit == '0':
            same = cin == cout and stride == 1
            self.body = nn.Identity() if same else nn.Sequential(*conv_bn(cin, cout, 1, stride, relu=False))
        else:
            k, t = CHOICES[digit]
            hidden = cin * t
            self.body = nn.Sequential(*conv_bn(cin, hidden), *conv_bn(hidden, hidden, k, stride, hidden),
                                      *conv_bn(hidden, cout, relu=False))

    def forward(self, x):
        y = self.body(x)
        return y + x if self.skip else y


class MacroNetwork(nn.Module):
    def __init__(self, arch, classes=10, channels=32, head=1280):
        super().__init__()
        assert len(arch) == sum(STAGES) and set(arch) <= set('012'), arch
        self.stem = nn.Sequential(*conv_bn(3, channels, 3))
        layers, digits, c = [], list(arch), channels
        for n in STAGES:
            for i in range(n):
                stride, cout = (2, 2 * c) if i == 0 else (1, c)
                layers.append(Layer(digits.pop(0), c, cout, stride))
                c = cout
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(*conv_bn(c, head))
        self.classifier = nn.Linear(head, classes)

    def forward(self, x):
        h = self.head(self.layers(self.stem(x)))
        return self.classifier(F.adaptive_avg_pool2d(h, 1).flatten(1))


if __name__ == '__main__':
    time_grad(MacroNetwork)

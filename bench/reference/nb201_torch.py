"""PyTorch reference for side-by-side benchmarks: NAS-Bench-201 TinyNetwork (TSS) as in
MFNAS.md section 1, written from the specification. Used only by `npm run bench:*` to time
PyTorch on the same architecture, batch and thread count as mfnas.

Usage: python3 nb201_torch.py --arch ARCH --batch N --threads T --repeats R [--classes C] [--size S]
Prints one JSON line: {"median": seconds, "times": [...], "torch": version}.
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(cout))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c):
    if name == 'none':
        return Zero()
    if name == 'skip_connect':
        return nn.Identity()
    if name == 'nor_conv_1x1':
        return ReLUConvBN(c, c, 1, 1)
    if name == 'nor_conv_3x3':
        return ReLUConvBN(c, c, 3, 1)
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise ValueError(name)


def parse(arch):
    nodes = arch.strip('|').split('|+|')
    return [[(e.split('~')[0], int(e.split('~')[1])) for e in n.split('|')] for n in nodes]


class Cell(nn.Module):
    """A cell; `edge_op(name, cin, cout)` builds each edge (default: same-channel NAS-Bench-201 ops).
    Edges from node 0 map cin -> cout, all others cout -> cout."""

    def __init__(self, genotype, cin, cout=None, edge_op=None):
        super().__init__()
        cout = cin if cout is None else cout
        edge_op = edge_op or (lambda name, ci, co: make_op(name, co))
        self.layers = nn.ModuleList()
        self.wiring = []
        for node in genotype:
            idx = []
            for op, src in node:
                idx.append((len(self.layers), src))
                self.layers.append(edge_op(op, cin if src == 0 else cout, cout))
            self.wiring.append(idx)

    def forward(self, x):
        nodes = [x]
        for idx in self.wiring:
            nodes.append(sum(self.layers[i](nodes[s]) for i, s in idx))
        return nodes[-1]


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, arch, classes, c=16, n=5):
        super().__init__()
        g = parse(arch)
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells, prev = [], c
        for s, ch in enumerate([c, 2 * c, 4 * c]):
            if s > 0:
                cells.append(Reduction(prev, ch))
            cells += [Cell(g, ch) for _ in range(n)]
            prev = ch
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU())
        self.classifier = nn.Linear(prev, classes)

    def forward(self, x):
        h = self.stem(x)
        for cell in self.cells:
            h = cell(h)
        h = self.lastact(h)
        return self.classifier(F.adaptive_avg_pool2d(h, 1).flatten(1))


def time_grad(build):
    """The bench:grad timing CLI for a network class `build(arch, classes)`: one forward + backward
    (cross-entropy, every weight gradient) per repeat after a warm-up; prints one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', required=True)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--size', type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = build(a.arch, a.classes).train()
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))

    def step():
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()

    step()  # warm-up
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({'median': times[len(times) // 2], 'times': times, 'torch': torch.__version__,
                      'params': sum(p.numel() for p in net.parameters())}))


if __name__ == '__main__':
    time_grad(TinyNetwork)

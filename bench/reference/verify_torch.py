"""PyTorch side of `npm run verify:torch` (bench/reference/verifyTorch.ts): an independent reference for
mfnas's networks, gradients and gradient proxies.

The networks are built here from the architecture string alone, following MFNAS.md section 1
(TSS: the NAS-Bench-201 TinyNetwork of nb201_torch.py; SSS: the same skeleton with N=1 cell per
stage and the channel-changing cell wiring; macro: NAS-Bench-Macro's MobileNetV2-style network,
MacroNetwork of macro_torch.py, with non-inplace ReLUs so that they can be hooked). Only the
parameter *values* come from mfnas (so both sides start from the same weights); the structure,
the forward/backward and the proxies are PyTorch / numpy code that shares nothing with mfnas.

Usage: python3 verify_torch.py DIR   (one architecture per call)
  DIR/manifest.json  {"batches": [{"file", "labelsFile", "n", "h", "w"}],
                      "arch": {"space", "arch", "classes", "weightsFile", "tensors": [{"name", "shape", "offset"}]},
                      "relusFile", "relus": [{"batch", "label", "shape", "offset"}]}
    weights: float32 little-endian in mfnas layouts (conv HWIO [k,k,cin/groups,cout], so a
    depthwise conv is [k,k,1,C]; linear [in,out]), offsets in elements; batch x: float32 NHWC; labels: int32; relus: mfnas's ReLU inputs (NHWC).
Runs the network three times: float32, float64, and float64 with mfnas's ReLU branch decisions
("64m": every ReLU that mfnas evaluated uses mfnas's sign pattern, so a pre-activation within
rounding noise of 0 takes the same branch on both sides). Writes DIR/result.json and
DIR/grads{32,64,64m}.bin (every conv/linear weight gradient per batch in mfnas layout,
float32/float64/float64; offsets in result.json); result.json has the proxy scores of each run
and, for 64 and 64m, of its gradients rounded to float32 (scores64f32, scores64mf32).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_torch import Cell, ReLUConvBN, Reduction, TinyNetwork, Zero, parse  # noqa: E402
from macro_torch import MacroNetwork  # noqa: E402

SSS_CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'


# ------------------------------------------------------------------------------------------
# Networks (MFNAS.md section 1)

class ZeroChannels(nn.Module):
    """`none` across a channel change: C_out zero channels of the input's batch and size."""

    def __init__(self, cout):
        super().__init__()
        self.cout = cout

    def forward(self, x):
        n, _, h, w = x.shape
        return x.new_zeros(n, self.cout, h, w)


class PoolWithPre(nn.Module):
    """`avg_pool_3x3` across a channel change: ReLU -> Conv1x1 -> BN, then the pool."""

    def __init__(self, cin, cout):
        super().__init__()
        self.pre = ReLUConvBN(cin, cout, 1, 1)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

    def forward(self, x):
        return self.pool(self.pre(x))


def make_op(name, cin, cout):
    if cin == cout:
        if name == 'none':
            return Zero()
        if name == 'skip_connect':
            return nn.Identity()
        if name == 'avg_pool_3x3':
            return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    else:
        if name == 'none':
            return ZeroChannels(cout)
        if name == 'skip_connect':  # Conv1x1 -> BN, no ReLU
            return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        if name == 'avg_pool_3x3':
            return PoolWithPre(cin, cout)
    if name == 'nor_conv_1x1':
        return ReLUConvBN(cin, cout, 1, 1)
    if name == 'nor_conv_3x3':
        return ReLUConvBN(cin, cout, 3, 1)
    raise ValueError(name)


class SssNetwork(nn.Module):
    """SSS: stem 3->c1; cell c1->c1; reduction c1->c2; cell c2->c3; reduction c3->c4; cell c4->c5."""

    def __init__(self, channels, classes):
        super().__init__()
        c1, c2, c3, c4, c5 = channels
        g = parse(SSS_CELL)
        self.stem = nn.Sequential(nn.Conv2d(3, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1))
        self.cells = nn.ModuleList([
            Cell(g, c1, c1, make_op), Reduction(c1, c2), Cell(g, c2, c3, make_op), Reduction(c3, c4), Cell(g, c4, c5, make_op),
        ])
        self.lastact = nn.Sequential(nn.BatchNorm2d(c5), nn.ReLU())
        self.classifier = nn.Linear(c5, classes)

    def forward(self, x):
        h = self.stem(x)
        for cell in self.cells:
            h = cell(h)
        h = self.lastact(h)
        return self.classifier(F.adaptive_avg_pool2d(h, 1).flatten(1))


def build(space, arch, classes):
    if space == 'tss':
        return TinyNetwork(arch, classes)  # the existing reference (C=16, N=5)
    if space == 'sss':
        return SssNetwork([int(c) for c in arch.split(':')], classes)
    if space == 'macro':
        net = MacroNetwork(arch, classes)
        # macro_torch.py's ReLUs are inplace (the benchmark's speed); here each ReLU's input is
        # recorded and, in the "64m" run, replaced by input * mask, which needs the input intact.
        for m in net.modules():
            if isinstance(m, nn.ReLU):
                m.inplace = False
        return net
    raise ValueError(f'unknown space {space}')


# MacroNetwork's inverted residual body: conv, BN, ReLU, depthwise conv, BN, ReLU, conv, BN
# (macro_torch.py); mfnas's names (src/networks/blocks/invertedResidual.ts) by position.
MACRO_IR_LAYERS = [(0, 'expand'), (1, 'bn_expand'), (3, 'depthwise'), (4, 'bn_depthwise'), (6, 'project'), (7, 'bn_project')]
MACRO_IR_RELUS = [(2, 'relu_expand'), (5, 'relu_depthwise')]


def check_mapped(net, out, kinds, what):
    """Every module of `kinds` in `net` must be accounted for exactly once."""
    ids = [id(m) for _, m in out]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f'a {what} is mapped twice')
    seen = set(ids)
    for m in net.modules():
        if isinstance(m, kinds) and id(m) not in seen:
            raise RuntimeError(f'unmapped {what} {m}')
    return out


def macro_named_layers(net):
    """named_layers for MacroNetwork. mfnas (src/spaces/macro/network.ts): `stem` and `head` are
    conv_bn blocks (`<name>.conv`, `<name>.bn`); layer K is block `cells.K`, an inverted residual
    (`.expand`, `.bn_expand`, `.depthwise`, `.bn_depthwise`, `.project`, `.bn_project`) or an
    identity (`.conv`, `.bn` where it changes the shape; nothing otherwise)."""
    out = [('stem.conv', net.stem[0]), ('stem.bn', net.stem[1])]
    for k, layer in enumerate(net.layers):
        name = f'cells.{k}'
        body = layer.body
        if isinstance(body, nn.Identity):
            continue
        if len(body) == 2:  # identity with a 1x1 conv + BN (stage-first layer)
            out += [(name + '.conv', body[0]), (name + '.bn', body[1])]
        else:
            out += [(f'{name}.{suffix}', body[i]) for i, suffix in MACRO_IR_LAYERS]
    out += [('head.conv', net.head[0]), ('head.bn', net.head[1]), ('classifier', net.classifier)]
    return check_mapped(net, out, (nn.Conv2d, nn.BatchNorm2d, nn.Linear), 'module')


def named_layers(net):
    """(mfnas parameter prefix, module) for every conv, BN and linear, walking the structure."""
    if isinstance(net, MacroNetwork):
        return macro_named_layers(net)
    out = [('stem.conv', net.stem[0]), ('stem.bn', net.stem[1])]

    def conv_bn(prefix, conv, bn):
        out.append((prefix + '.conv', conv))
        out.append((prefix + '.bn', bn))

    for k, block in enumerate(net.cells):
        name = f'cells.{k}'
        if isinstance(block, Reduction):
            out += [(name + '.conv_a', block.conv_a[1]), (name + '.bn_a', block.conv_a[2]),
                    (name + '.conv_b', block.conv_b[1]), (name + '.bn_b', block.conv_b[2]),
                    (name + '.shortcut', block.shortcut[1])]
            continue
        for e, op in enumerate(block.layers):
            prefix = f'{name}.edge{e}'
            if isinstance(op, ReLUConvBN):
                conv_bn(prefix, op[1], op[2])
            elif isinstance(op, PoolWithPre):
                conv_bn(prefix, op.pre[1], op.pre[2])
            elif isinstance(op, nn.Sequential):  # skip_connect across a channel change
                conv_bn(prefix, op[0], op[1])
    out += [('lastact.bn', net.lastact[0]), ('classifier', net.classifier)]
    return check_mapped(net, out, (nn.Conv2d, nn.BatchNorm2d, nn.Linear), 'module')


def mfnas_conv_shape(module):
    """mfnas's filter shape of a conv: [kh, kw, cin/groups, cout] (src/networks/layers.ts), so a
    depthwise conv (groups = cin = cout = C) is [k, k, 1, C]."""
    kh, kw = module.kernel_size
    return (kh, kw, module.in_channels // module.groups, module.out_channels)


def to_torch(name, module, arr):
    """mfnas layout -> torch layout for one parameter."""
    if isinstance(module, nn.Conv2d) and name.endswith('.weight'):
        # HWIO [kh, kw, cin/groups, cout] -> OIHW [cout, cin/groups, kh, kw]. A depthwise filter
        # must arrive as [k, k, 1, C]; TensorFlow's depthwise layout [k, k, C, 1] has the same
        # memory order, so it is accepted and read as [k, k, 1, C] (the element order decides).
        want = mfnas_conv_shape(module)
        if tuple(arr.shape) != want:
            if module.groups > 1 and tuple(arr.shape) == (want[0], want[1], want[3], want[2]):
                arr = arr.reshape(want)
            else:
                raise RuntimeError(f'{name}: mfnas shape {list(arr.shape)}, expected {list(want)} for {module}')
        return arr.transpose(3, 2, 0, 1)
    if isinstance(module, nn.Linear) and name.endswith('.weight'):
        return arr.T  # [in, out] -> [out, in]
    return arr


def to_mfnas(module, grad):
    """torch layout -> mfnas layout for a weight gradient."""
    if isinstance(module, nn.Conv2d):
        return grad.transpose(2, 3, 1, 0)  # OIHW [cout, cin/groups, kh, kw] -> HWIO [kh, kw, cin/groups, cout]
    return grad.T


def load_weights(net, layers, tensors, blob):
    by_name = {t['name']: t for t in tensors}
    used = set()
    for prefix, m in layers:
        if isinstance(m, nn.BatchNorm2d):
            pairs = [('.gamma', m.weight), ('.beta', m.bias)]
        elif isinstance(m, nn.Linear):
            pairs = [('.weight', m.weight), ('.bias', m.bias)]
        else:
            pairs = [('.weight', m.weight)]
        for suffix, p in pairs:
            name = prefix + suffix
            t = by_name.get(name)
            if t is None:
                raise RuntimeError(f'mfnas has no parameter {name}')
            size = int(np.prod(t['shape']))
            arr = np.frombuffer(blob, dtype='<f4', count=size, offset=t['offset'] * 4).reshape(t['shape'])
            arr = to_torch(name, m, arr)
            if tuple(arr.shape) != tuple(p.shape):
                raise RuntimeError(f'{name}: mfnas shape {t["shape"]} -> {arr.shape}, torch {tuple(p.shape)}')
            with torch.no_grad():
                p.copy_(torch.from_numpy(np.array(arr, copy=True)))
            used.add(name)
    extra = set(by_name) - used
    if extra:
        raise RuntimeError(f'mfnas parameters without a torch counterpart: {sorted(extra)[:5]}')


# ------------------------------------------------------------------------------------------
# Proxies (MFNAS.md section 3), numpy, float64 statistics of the recorded gradients

BIN_EDGES = [0, 5e-10, 1e-9, 5e-9, 1e-8, 5e-8, 1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4,
             1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 5e-1, 1, 5]
STD_EPS = 1e-5
EMPTY = 1e-5


def proxies(records):
    """records: list of (name, block or None, G) with G float64 [batches, entries]."""
    # 1. drop identically-zero layers; the cell list only (stem and classifier excluded)
    cell_layers = [(n, b, G) for n, b, G in records if b is not None and np.any(G != 0)]
    # 2. bin selection: per block, fraction of all its entries (all layers, all batches) per bin
    sums = np.zeros(len(BIN_EDGES) - 1)
    blocks = []
    for _, b, _ in cell_layers:
        if b not in blocks:
            blocks.append(b)
    for b in blocks:
        a = np.concatenate([np.abs(G).ravel() for _, bb, G in cell_layers if bb == b])
        for k in range(len(BIN_EDGES) - 1):
            sums[k] += np.count_nonzero((a >= BIN_EDGES[k]) & (a < BIN_EDGES[k + 1])) / a.size
    k = int(np.argmax(sums))  # first maximum on ties
    lo, hi = BIN_EDGES[k], BIN_EDGES[k + 1]
    # 3. per layer statistics of the kept entries
    ip = im = 0.0
    ip_any = im_any = False
    for _, _, G in cell_layers:
        m = np.abs(G.mean(axis=0))
        s = G.std(axis=0) + STD_EPS  # population std (ddof 0)
        keep = (m >= lo) & (m <= hi)
        if not keep.any():
            continue
        r = m[keep] / s[keep]
        t_param, t_mean = r.sum(), r.mean()
        if t_param != 0 and not math.isnan(t_param):
            ip += math.log(t_param + 1)
            ip_any = True
        if t_mean != 0 and not math.isnan(t_mean):
            im += math.log(t_mean + 1)
            im_any = True
    # ZiCo as its authors compute it: every conv/linear layer, a = mean over batches of |g|,
    # sum over entries with s != 0 of a/s, log; empty sums skipped
    zico = 0.0
    for _, _, G in records:
        m = np.abs(G).mean(axis=0)
        s = G.std(axis=0)
        nz = s != 0
        t = (m[nz] / s[nz]).sum()
        if t != 0:
            zico += math.log(t)
    return {
        'intgrad_param': ip if ip_any else EMPTY,
        'intgrad_mean': im if im_any else EMPTY,
        'zico': zico,
        'bin': k, 'lo': lo, 'hi': hi, 'binSums': sums.tolist(),
    }


# ------------------------------------------------------------------------------------------
# ReLUs: the only non-smooth points of the network. A pre-activation within rounding noise of 0
# can take a different branch in float32 than in float64, which changes the gradient of every
# earlier layer by that element's upstream gradient (a legitimate "kink crossing", not a bug).

def relu_modules(net):
    """(mfnas label, nn.ReLU) for every ReLU; labels as bench/reference/verifyTorch.ts names mfnas's ReLU calls."""
    if isinstance(net, MacroNetwork):
        out = [('stem', net.stem[2])]
        for k, layer in enumerate(net.layers):
            if isinstance(layer.body, nn.Sequential) and len(layer.body) > 2:  # inverted residual
                out += [(f'cells.{k}.{suffix}', layer.body[i]) for i, suffix in MACRO_IR_RELUS]
        out.append(('head', net.head[2]))
        return check_mapped(net, out, nn.ReLU, 'ReLU')
    out = []
    for k, block in enumerate(net.cells):
        name = f'cells.{k}'
        if isinstance(block, Reduction):
            out += [(name + '.conv_a', block.conv_a[0]), (name + '.conv_b', block.conv_b[0])]
            continue
        for e, op in enumerate(block.layers):
            if isinstance(op, ReLUConvBN):
                out.append((f'{name}.edge{e}', op[0]))
            elif isinstance(op, PoolWithPre):
                out.append((f'{name}.edge{e}', op.pre[0]))
    out.append(('lastact', net.lastact[1]))
    return check_mapped(net, out, nn.ReLU, 'ReLU')


def run(net, batches, dtype, masks=None, record=False):
    """Forward (train mode) + cross-entropy + backward per batch.

    masks: per batch {label: NCHW 0/1 array}; the ReLU with that label then uses this mask
    (forward x * mask, derivative mask) instead of its own sign test.
    Returns losses, weight gradients in mfnas layout per layer name, the inputs of every ReLU.
    """
    net = net.to(dtype).train()
    layers = named_layers(net)
    relus = relu_modules(net)
    weighted = [(p, m) for p, m in layers if isinstance(m, (nn.Conv2d, nn.Linear))]
    state = {'batch': 0}
    inputs = {}
    handles = []
    for label, m in relus:
        def pre(mod, inp, label=label):
            inputs.setdefault((state['batch'], label), inp[0].detach().to(torch.float64).numpy().copy())

        if record:
            handles.append(m.register_forward_pre_hook(pre))
        if masks is not None:
            def post(mod, inp, out, label=label):
                mask = masks[state['batch']].get(label)
                return out if mask is None else inp[0] * torch.from_numpy(mask).to(inp[0].dtype)

            handles.append(m.register_forward_hook(post))
    losses, grads = [], {}
    for b, (x, y) in enumerate(batches):
        state['batch'] = b
        net.zero_grad(set_to_none=False)
        loss = F.cross_entropy(net(x.to(dtype)), y)
        loss.backward()
        losses.append(loss.item())
        for prefix, m in weighted:
            grads.setdefault(prefix + '.weight', []).append(to_mfnas(m, m.weight.grad.detach().numpy().copy()))
    for h in handles:
        h.remove()
    return losses, grads, weighted, inputs


def main():
    out_dir = sys.argv[1]
    torch.set_num_threads(int(os.environ.get('VERIFY_TORCH_THREADS', '1')))
    with open(os.path.join(out_dir, 'manifest.json')) as f:
        man = json.load(f)
    batches = []
    for b in man['batches']:
        x = np.fromfile(os.path.join(out_dir, b['file']), dtype='<f4').reshape(b['n'], b['h'], b['w'], 3)
        y = np.fromfile(os.path.join(out_dir, b['labelsFile']), dtype='<i4')
        batches.append((torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y.astype(np.int64))))
    a = man['arch']
    with open(os.path.join(out_dir, a['weightsFile']), 'rb') as f:
        blob = f.read()
    # mfnas's ReLU inputs (float32, NHWC) -> NCHW float64 values and 0/1 masks per batch
    relu_blob = np.fromfile(os.path.join(out_dir, man['relusFile']), dtype='<f4')
    mfnas_pre = [dict() for _ in batches]
    for r in man['relus']:
        n, h, w, c = r['shape']
        v = relu_blob[r['offset']:r['offset'] + n * h * w * c].reshape(n, h, w, c).transpose(0, 3, 1, 2)
        mfnas_pre[r['batch']][r['label']] = v.astype(np.float64)
    masks = [{k: (v > 0).astype(np.float64) for k, v in d.items()} for d in mfnas_pre]

    def fresh():
        net = build(a['space'], a['arch'], a['classes'])
        load_weights(net, named_layers(net), a['tensors'], blob)
        return net

    res = {'torch': torch.__version__}
    runs = [('32', torch.float32, None, '<f4'), ('64', torch.float64, None, '<f8'), ('64m', torch.float64, masks, '<f8')]
    for tag, dtype, mk, npdt in runs:
        net = fresh()
        res['params'] = sum(p.numel() for p in net.parameters())
        losses, grads, weighted, inputs = run(net, batches, dtype, mk, record=(tag in ('32', '64')))
        entries, offset = [], 0
        with open(os.path.join(out_dir, f'grads{tag}.bin'), 'wb') as f:
            for prefix, _ in weighted:
                name = prefix + '.weight'
                per = grads[name]
                entries.append({'name': name, 'shape': list(per[0].shape), 'offset': offset, 'size': int(per[0].size)})
                for g in per:
                    f.write(np.ascontiguousarray(g, dtype=npdt).tobytes())
                    offset += g.size
        records = []
        for prefix, _ in weighted:
            name = prefix + '.weight'
            block = '.'.join(name.split('.')[:2]) if name.startswith('cells.') else None
            records.append((name, block, np.stack([g.astype(np.float64).ravel() for g in grads[name]])))
        res['loss' + tag] = losses
        res['grads' + tag] = entries
        res['scores' + tag] = proxies(records)
        if tag != '32':
            # The same gradients rounded to float32: what mfnas's proxy code (which takes float32
            # arrays) is fed in verifyTorch.ts's implementation check, so both sides see one input.
            res['scores' + tag + 'f32'] = proxies([(n, b, G.astype(np.float32).astype(np.float64)) for n, b, G in records])
        if tag == '32':
            inputs32 = inputs
        if tag == '64':
            # mfnas's ReLU inputs against float64's (and PyTorch float32's, for scale): value
            # error relative to the tensor's largest |value|, and elements on the other side of 0
            report = []
            for b, d in enumerate(mfnas_pre):
                for label, v in d.items():
                    ref = inputs.get((b, label))
                    if ref is None:
                        report.append({'batch': b, 'label': label, 'missing': True})
                        continue
                    if ref.shape != v.shape:
                        report.append({'batch': b, 'label': label, 'shapeMismatch': [list(ref.shape), list(v.shape)]})
                        continue
                    scale = float(np.abs(ref).max()) or 1.0
                    flips = (v > 0) != (ref > 0)
                    report.append({
                        'batch': b, 'label': label, 'err': float(np.abs(v - ref).max()) / scale,
                        'err32': float(np.abs(inputs32[(b, label)] - ref).max()) / scale,
                        'flips': int(flips.sum()),
                        'flipMaxAbs': float(np.abs(ref[flips]).max()) / scale if flips.any() else 0.0,
                    })
            called = {r['label'] for r in man['relus']}
            res['reluReport'] = report
            # ReLUs PyTorch ran but mfnas skipped (dead edges), for the record
            res['reluNotCalled'] = sorted({label for (_, label) in inputs if label not in called})
    with open(os.path.join(out_dir, 'result.json'), 'w') as f:
        json.dump(res, f)


if __name__ == '__main__':
    main()

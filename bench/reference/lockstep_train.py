"""PyTorch side of bench/reference/lockstepTrain.ts: from mfnas's initial weights and the same
un-augmented batches, K plain SGD steps (the recipe's optimizer at a constant rate) in float32,
printing the loss before each step, so the two trainings can be compared step by step.

Usage: python3 lockstep_train.py DIR [float64]   (DIR/manifest.json, weights.bin, batches.bin,
labels.bin). With float64 the same steps in double precision: how far PyTorch's own float32
training drifts from it is the yardstick for mfnas's drift (training at this rate is chaotic).
"""
import json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_torch import build, load_weights, named_layers  # noqa: E402


def main():
    d = sys.argv[1]
    m = json.load(open(os.path.join(d, 'manifest.json')))
    torch.set_num_threads(m['threads'])
    net = build(m['space'], m['arch'], m['classes']).train()
    blob = open(os.path.join(d, 'weights.bin'), 'rb').read()
    load_weights(net, named_layers(net), m['tensors'], blob)
    dtype = torch.float64 if len(sys.argv) > 2 and sys.argv[2] == 'float64' else torch.float32
    net = net.to(dtype)
    n, r, k = m['batch'], m['resolution'], m['steps']
    x = np.fromfile(os.path.join(d, 'batches.bin'), dtype='<f4').reshape(k, n, r, r, 3)
    y = np.fromfile(os.path.join(d, 'labels.bin'), dtype='<i4').reshape(k, n)
    opt = torch.optim.SGD(net.parameters(), lr=m['lr'], momentum=m['momentum'], weight_decay=m['weight_decay'],
                          nesterov=m['nesterov'])
    losses = []
    for s in range(k):
        xb = torch.from_numpy(np.ascontiguousarray(x[s].transpose(0, 3, 1, 2))).to(dtype)
        yb = torch.from_numpy(y[s].astype(np.int64))
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(json.dumps({'losses': losses, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()

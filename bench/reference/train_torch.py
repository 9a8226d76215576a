"""PyTorch side of `npm run bench:train`: trains a NAS-Bench-201 TinyNetwork (nb201_torch.py) or a
NAS-Bench-Macro network (macro_torch.py) with the recipe in a JSON file written by
bench/timing/train.ts, which uses the same recipe for mfnas.

Recipe fields: space ('tss' or 'macro'), arch, classes, epochs, batch, lr, momentum, nesterov,
schedule_offset, weight_decay, seed, threads, train_file / test_file (CIFAR binary: 1 label byte +
3072 pixel bytes per record), train_images / test_images (the first N records), crop_padding,
mean / std (0..255 units).

SGD(nesterov as given, weight_decay on every parameter), lr of epoch e
= lr * (1 + cos(pi * (e + schedule_offset) / epochs)) / 2 (CosineAnnealingLR stepped per epoch;
offset 1 where the scheduler is stepped before the epoch, as NAS-Bench-Macro's train.py does), a
shuffled pass per epoch keeping the last partial batch, random crop with zero padding +
horizontal flip, then normalisation; cross-entropy; test in eval mode (BN running statistics).

Usage: python3 train_torch.py RECIPE.json
Prints one JSON line per epoch ({"epoch", "train_loss", "train_acc", "test_loss", "test_acc",
"train_seconds", "eval_seconds"}) and a last line {"done": true, "torch": version}.
"""
import json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_torch import TinyNetwork  # noqa: E402
from macro_torch import MacroNetwork  # noqa: E402

NETWORKS = {'tss': TinyNetwork, 'macro': MacroNetwork}


def load_cifar(path, n):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[:n]
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    pixels = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32))
    return pixels, labels


def main():
    r = json.load(open(sys.argv[1]))
    torch.set_num_threads(r['threads'])
    torch.manual_seed(r['seed'])
    gen = torch.Generator().manual_seed(r['seed'])
    mean = torch.tensor(r['mean'], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(r['std'], dtype=torch.float32).view(1, 3, 1, 1)
    xtr, ytr = load_cifar(r['train_file'], r['train_images'])
    xte, yte = load_cifar(r['test_file'], r['test_images'])
    xte = (xte - mean) / std
    p = r['crop_padding']
    size = xtr.shape[-1]
    # Zero padding in raw pixel space (torchvision pads the PIL image), then normalise.
    xtr_pad = F.pad(xtr, (p, p, p, p))

    net = NETWORKS[r.get('space', 'tss')](r['arch'], r['classes'])
    opt = torch.optim.SGD(net.parameters(), lr=r['lr'], momentum=r['momentum'],
                          weight_decay=r['weight_decay'], nesterov=r.get('nesterov', True))
    n = xtr.shape[0]
    for epoch in range(r['epochs']):
        lr = 0.5 * r['lr'] * (1 + math.cos(math.pi * (epoch + r.get('schedule_offset', 0)) / r['epochs']))
        for g in opt.param_groups:
            g['lr'] = lr
        net.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, r['batch']):
            idx = order[start:start + r['batch']]
            k = idx.numel()
            tops = torch.randint(0, 2 * p + 1, (k,), generator=gen)
            lefts = torch.randint(0, 2 * p + 1, (k,), generator=gen)
            flips = torch.rand(k, generator=gen) < 0.5
            imgs = torch.empty(k, 3, size, size)
            for j in range(k):
                img = xtr_pad[idx[j], :, tops[j]:tops[j] + size, lefts[j]:lefts[j] + size]
                imgs[j] = img.flip(-1) if flips[j] else img
            x = (imgs - mean) / std
            y = ytr[idx]
            opt.zero_grad(set_to_none=True)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * k
            correct += (logits.argmax(1) == y).sum().item()
        train_seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        net.eval()
        test_loss, test_correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, xte.shape[0], 256):
                z = net(xte[start:start + 256])
                yy = yte[start:start + 256]
                test_loss += F.cross_entropy(z, yy, reduction='sum').item()
                test_correct += (z.argmax(1) == yy).sum().item()
        eval_seconds = time.perf_counter() - t1
        print(json.dumps({
            'epoch': epoch + 1, 'lr': lr, 'train_loss': loss_sum / n, 'train_acc': 100.0 * correct / n,
            'test_loss': test_loss / xte.shape[0], 'test_acc': 100.0 * test_correct / xte.shape[0],
            'train_seconds': train_seconds, 'eval_seconds': eval_seconds,
        }), flush=True)
    print(json.dumps({'done': True, 'torch': torch.__version__}), flush=True)


if __name__ == '__main__':
    main()

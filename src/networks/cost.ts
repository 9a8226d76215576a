/**
 * Analytic size and cost of a network, computed from its spec alone (no tensors), so they are
 * available instantly for all 15,625 + 32,768 architectures (search limits, reports, tests).
 *
 * Both follow NATS-Bench's own counting (xautodl's flop benchmark), verified against its tables
 * and official records: parameters = every conv/linear weight, linear bias and BN γ/β (dead
 * branches included — the benchmark trains them); FLOPs = multiply-accumulates of every conv
 * and the classifier plus the classifier's bias adds, per image, in millions. Pools are free.
 * A grouped conv counts k²·(cin/groups)·cout per output position (a depthwise one C·k² — as
 * NAS-Bench-Macro's table and PyTorch's usual counters do).
 */
import { convCinPerGroup, convOutSize, type LayerSpec } from './layers.js';
import { networkLayers, type NetworkSpec } from './spec.js';

export function layerParams(layer: LayerSpec): number {
  switch (layer.kind) {
    case 'conv':
      return layer.k * layer.k * convCinPerGroup(layer) * layer.cout;
    case 'bn':
      return 2 * layer.c;
    case 'linear':
      return layer.in * layer.out + layer.out;
  }
}

/** Multiply-accumulates for one image (bias adds of the linear layer included). */
export function layerMacs(layer: LayerSpec): number {
  switch (layer.kind) {
    case 'conv': {
      const outSize = convOutSize(layer);
      return layer.k * layer.k * convCinPerGroup(layer) * layer.cout * outSize * outSize;
    }
    case 'bn':
      return 0;
    case 'linear':
      return layer.in * layer.out + layer.out;
  }
}

export function countParams(spec: NetworkSpec): number {
  return networkLayers(spec).reduce((sum, l) => sum + layerParams(l), 0);
}

/** FLOPs in millions, as NATS-Bench reports them. */
export function countFlops(spec: NetworkSpec): number {
  return networkLayers(spec).reduce((sum, l) => sum + layerMacs(l), 0) / 1e6;
}

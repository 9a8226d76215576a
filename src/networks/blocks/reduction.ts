/**
 * Block kind `reduction`: NATS-Bench's residual reduction block (ResNetBasicblock, stride 2):
 * ReLU → conv3×3/2 → BN → ReLU → conv3×3 → BN, plus a shortcut AvgPool2d(2, 2) → conv1×1 (no BN).
 */
import { add, avgPool2x2 } from '../../engine/ops.js';
import { bnSpec, convSpec, type BnSpec, type ConvSpec } from '../layers.js';
import type { BlockKind } from './kind.js';

export interface ReductionSpec {
  readonly kind: 'reduction';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  /** Input spatial size; the output is half of it. */
  readonly size: number;
  readonly convA: ConvSpec;
  readonly bnA: BnSpec;
  readonly convB: ConvSpec;
  readonly bnB: BnSpec;
  /** AvgPool2d(2, 2) → Conv1x1, no BN. */
  readonly shortcut: ConvSpec;
}

/** The residual reduction block: `cin` → `cout` channels, spatial size halved. */
export function reductionSpec(name: string, cin: number, cout: number, size: number): ReductionSpec {
  const half = size / 2;
  return {
    kind: 'reduction', name, cin, cout, size,
    convA: convSpec(`${name}.conv_a`, cin, cout, 3, 2, size),
    bnA: bnSpec(`${name}.bn_a`, cout, half),
    convB: convSpec(`${name}.conv_b`, cout, cout, 3, 1, half),
    bnB: bnSpec(`${name}.bn_b`, cout, half),
    shortcut: convSpec(`${name}.shortcut`, cin, cout, 1, 1, half),
  };
}

export const reductionKind: BlockKind<ReductionSpec> = {
  name: 'reduction',
  layers: (r) => [r.convA, r.bnA, r.convB, r.bnB, r.shortcut],
  forward(r, x, layers) {
    const a = layers.bn(r.bnA, layers.conv(r.convA, layers.relu(x)));
    const b = layers.bn(r.bnB, layers.conv(r.convB, layers.relu(a)));
    const shortcut = layers.conv(r.shortcut, avgPool2x2(x));
    return add(shortcut, b);
  },
  graph(r, x, g) {
    const a = g.bn(r.bnA, g.conv(r.convA, g.relu(`${r.name}.relu_a`, x)));
    const b = g.bn(r.bnB, g.conv(r.convB, g.relu(`${r.name}.relu_b`, a)));
    const shortcut = g.conv(r.shortcut, g.avgPool2(`${r.name}.shortcut_pool`, x));
    return g.sum(`${r.name}.sum`, [shortcut, b]);
  },
  output: (r) => ({ size: r.size / 2, channels: r.cout }),
};

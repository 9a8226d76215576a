/**
 * Block kind `conv_bn`: conv → BN, optionally → ReLU. The stem of every network (NATS-Bench's
 * has no ReLU; MobileNet-style stems have one), and a conv head before the global pool.
 */
import { bnSpec, convOutSize, convSpec, type BnSpec, type ConvSpec } from '../layers.js';
import type { BlockKind } from './kind.js';

export interface ConvBnSpec {
  readonly kind: 'conv_bn';
  readonly name: string;
  readonly conv: ConvSpec;
  readonly bn: BnSpec;
  readonly relu: boolean;
}

/** `<name>.conv` (k×k, stride, "same" padding) from `cin` to `cout` channels at input size `size`, then `<name>.bn`. */
export function convBnSpec(name: string, cin: number, cout: number, k: number, stride: number, size: number, relu: boolean): ConvBnSpec {
  const conv = convSpec(`${name}.conv`, cin, cout, k, stride, size);
  return { kind: 'conv_bn', name, conv, bn: bnSpec(`${name}.bn`, cout, convOutSize(conv)), relu };
}

export const convBnKind: BlockKind<ConvBnSpec> = {
  name: 'conv_bn',
  layers: (b) => [b.conv, b.bn],
  forward(b, x, layers) {
    const y = layers.bn(b.bn, layers.conv(b.conv, x));
    return b.relu ? layers.relu(y) : y;
  },
  graph(b, input, g) {
    const y = g.bn(b.bn, g.conv(b.conv, input));
    return b.relu ? g.relu(`${b.name}.relu`, y) : y;
  },
  output: (b) => ({ size: b.bn.size, channels: b.bn.c }),
};

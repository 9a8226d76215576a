/** Block kind `bn_relu`: BN → ReLU, NATS-Bench's head before the global pool (`lastact`). */
import { bnSpec, type BnSpec } from '../layers.js';
import type { BlockKind } from './kind.js';

export interface BnReluSpec {
  readonly kind: 'bn_relu';
  readonly name: string;
  readonly bn: BnSpec;
}

/** `<name>.bn` over `c` channels of size `size`, then a ReLU. */
export function bnReluSpec(name: string, c: number, size: number): BnReluSpec {
  return { kind: 'bn_relu', name, bn: bnSpec(`${name}.bn`, c, size) };
}

export const bnReluKind: BlockKind<BnReluSpec> = {
  name: 'bn_relu',
  layers: (b) => [b.bn],
  forward: (b, x, layers) => layers.relu(layers.bn(b.bn, x)),
  graph: (b, input, g) => g.relu(`${b.name}.relu`, g.bn(b.bn, input)),
  output: (b) => ({ size: b.bn.size, channels: b.bn.c }),
};

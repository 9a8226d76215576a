/**
 * Block kind `identity_downsample`: NAS-Bench-Macro's identity layer (xiusu/NAS-Bench-Macro,
 * train/model.py `Identity`): the input itself when stride = 1 and cin = cout; otherwise a
 * 1×1 conv with the stride → BN (no ReLU), as at the first layer of a stage.
 */
import { bnSpec, convOutSize, convSpec, type BnSpec, type ConvSpec } from '../layers.js';
import type { BlockKind } from './kind.js';

export interface IdentityDownsampleSpec {
  readonly kind: 'identity_downsample';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly stride: number;
  /** Input spatial size. */
  readonly size: number;
  /** The 1×1 conv → BN; null when the block is the identity. */
  readonly downsample: { readonly conv: ConvSpec; readonly bn: BnSpec } | null;
}

/** Identity when `stride` = 1 and `cin` = `cout`, else `<name>.conv` (1×1, stride) → `<name>.bn`. */
export function identityDownsampleSpec(name: string, cin: number, cout: number, stride: number, size: number): IdentityDownsampleSpec {
  if (stride === 1 && cin === cout) return { kind: 'identity_downsample', name, cin, cout, stride, size, downsample: null };
  const conv = convSpec(`${name}.conv`, cin, cout, 1, stride, size);
  return { kind: 'identity_downsample', name, cin, cout, stride, size, downsample: { conv, bn: bnSpec(`${name}.bn`, cout, convOutSize(conv)) } };
}

export const identityDownsampleKind: BlockKind<IdentityDownsampleSpec> = {
  name: 'identity_downsample',
  layers: (b) => (b.downsample ? [b.downsample.conv, b.downsample.bn] : []),
  forward: (b, x, layers) => (b.downsample ? layers.bn(b.downsample.bn, layers.conv(b.downsample.conv, x)) : x),
  graph: (b, input, g) => (b.downsample ? g.bn(b.downsample.bn, g.conv(b.downsample.conv, input)) : input),
  output: (b) => (b.downsample ? { size: b.downsample.bn.size, channels: b.cout } : { size: b.size, channels: b.cin }),
  isIdentity: (b) => b.downsample === null,
  // An identity inside a stage is how NAS-Bench-Macro makes a stage shorter.
  isSkippedLayer: (b) => b.downsample === null,
};

/**
 * Block kind `inverted_residual`: MobileNetV2's inverted residual as NAS-Bench-Macro builds it
 * (xiusu/NAS-Bench-Macro, train/model.py `InvertedResidual`, ReLU — not ReLU6 — activations):
 * 1×1 expand conv (cin → cin·t) → BN → ReLU → depthwise k×k conv, stride s → BN → ReLU →
 * 1×1 project conv (→ cout) → BN, plus the input when stride = 1 and cin = cout.
 * (t = 1 would drop the expansion conv; no space uses it, so it is refused.)
 */
import { add } from '../../engine/ops.js';
import { bnSpec, convOutSize, convSpec, depthwiseConvSpec, type BnSpec, type ConvSpec } from '../layers.js';
import type { BlockKind } from './kind.js';

export interface InvertedResidualSpec {
  readonly kind: 'inverted_residual';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  /** Kernel of the depthwise conv. */
  readonly k: number;
  /** Expansion ratio t: the hidden width is round(cin·t). */
  readonly expansion: number;
  readonly stride: number;
  /** Input spatial size. */
  readonly size: number;
  readonly expand: ConvSpec;
  readonly bnExpand: BnSpec;
  readonly depthwise: ConvSpec;
  readonly bnDepthwise: BnSpec;
  readonly project: ConvSpec;
  readonly bnProject: BnSpec;
  /** stride = 1 and cin = cout: the block's output is conv path + input. */
  readonly shortcut: boolean;
}

/** The inverted residual `cin` → `cout` with depthwise kernel `k`, expansion `t` and `stride`, at input size `size`. */
export function invertedResidualSpec(
  name: string, cin: number, cout: number, k: number, expansion: number, stride: number, size: number,
): InvertedResidualSpec {
  if (!(expansion > 1)) throw new Error(`inverted_residual ${name}: expansion ${expansion} must be above 1`);
  const hidden = Math.round(cin * expansion);
  const expand = convSpec(`${name}.expand`, cin, hidden, 1, 1, size);
  const depthwise = depthwiseConvSpec(`${name}.depthwise`, hidden, k, stride, size);
  const out = convOutSize(depthwise);
  const project = convSpec(`${name}.project`, hidden, cout, 1, 1, out);
  return {
    kind: 'inverted_residual', name, cin, cout, k, expansion, stride, size,
    expand, bnExpand: bnSpec(`${name}.bn_expand`, hidden, size),
    depthwise, bnDepthwise: bnSpec(`${name}.bn_depthwise`, hidden, out),
    project, bnProject: bnSpec(`${name}.bn_project`, cout, out),
    shortcut: stride === 1 && cin === cout,
  };
}

export const invertedResidualKind: BlockKind<InvertedResidualSpec> = {
  name: 'inverted_residual',
  layers: (b) => [b.expand, b.bnExpand, b.depthwise, b.bnDepthwise, b.project, b.bnProject],
  forward(b, x, layers) {
    const e = layers.relu(layers.bn(b.bnExpand, layers.conv(b.expand, x)));
    const d = layers.relu(layers.bn(b.bnDepthwise, layers.conv(b.depthwise, e)));
    const p = layers.bn(b.bnProject, layers.conv(b.project, d));
    return b.shortcut ? add(p, x) : p;
  },
  graph(b, input, g) {
    const e = g.relu(`${b.name}.relu_expand`, g.bn(b.bnExpand, g.conv(b.expand, input)));
    const d = g.relu(`${b.name}.relu_depthwise`, g.bn(b.bnDepthwise, g.conv(b.depthwise, e)));
    const p = g.bn(b.bnProject, g.conv(b.project, d));
    return b.shortcut ? g.sum(`${b.name}.sum`, [p, input]) : p;
  },
  output: (b) => ({ size: b.bnProject.size, channels: b.cout }),
};

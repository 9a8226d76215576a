/**
 * The NAS-Bench-Macro network, as the authors' train/model.py `Network` builds it: stem 3×3 conv
 * 3 → 32, BN, ReLU; three stages of 2, 3, 3 searchable layers whose first layer has stride 2 and
 * doubles the channels (32 → 64 → 128 → 256; an identity there is a 1×1 conv + BN), the others
 * stride 1; head 1×1 conv to 1,280, BN, ReLU; global average pool; linear classifier.
 */
import type { DatasetRef } from '../../datasets/registry.js';
import {
  convBnSpec, identityDownsampleSpec, invertedResidualSpec, kindOf, type BlockSpec,
} from '../../networks/blocks/index.js';
import { assembleNetwork, blockName, networkResolution, type NetworkSpec } from '../../networks/spec.js';
import { checkMacroArch, formatMacroArch, MACRO_OPS, MACRO_STAGES, type MacroArch } from './arch.js';

/** The authors' `init_channels`. */
export const MACRO_STEM_CHANNELS = 32;
/** Channels of the head's 1×1 conv. */
export const MACRO_HEAD_CHANNELS = 1280;

/** Stride and channels of each searchable layer: the stage's first has stride 2 and doubles them. */
export function macroLayerShapes(): Array<{ cin: number; cout: number; stride: number }> {
  const out: Array<{ cin: number; cout: number; stride: number }> = [];
  let c = MACRO_STEM_CHANNELS;
  for (const n of MACRO_STAGES) {
    for (let i = 0; i < n; i++) {
      if (i === 0) {
        out.push({ cin: c, cout: 2 * c, stride: 2 });
        c *= 2;
      } else {
        out.push({ cin: c, cout: c, stride: 1 });
      }
    }
  }
  return out;
}

export function macroNetworkSpec(arch: MacroArch, dataset: DatasetRef, archString = formatMacroArch(arch)): NetworkSpec {
  checkMacroArch(arch);
  const resolution = networkResolution(dataset);
  const stem = convBnSpec('stem', 3, MACRO_STEM_CHANNELS, 3, 1, resolution, true);
  let size = resolution;
  const blocks: BlockSpec[] = macroLayerShapes().map(({ cin, cout, stride }, i) => {
    const op = MACRO_OPS[arch[i]];
    const block: BlockSpec = op
      ? invertedResidualSpec(blockName(i), cin, cout, op.k, op.expansion, stride, size)
      : identityDownsampleSpec(blockName(i), cin, cout, stride, size);
    size = kindOf(block).output(block).size;
    return block;
  });
  const channels = macroLayerShapes()[blocks.length - 1].cout;
  const head = convBnSpec('head', channels, MACRO_HEAD_CHANNELS, 1, 1, size, true);
  return assembleNetwork('macro', dataset, archString, stem, blocks, head);
}

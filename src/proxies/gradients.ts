/**
 * Gradient records, the input of the gradient-statistic proxies (intgrad, ZiCo, grad_norm,
 * SNIP): one entry per conv/linear layer, with its weight gradient on each proxy batch.
 */
import { blockLayers, layerParamShapes, type NetworkSpec } from '../networks/index.js';

export interface LayerGradients {
  /** Parameter name, e.g. `cells.3.edge4.conv.weight`. */
  readonly name: string;
  /** The block of `spec.blocks` the layer belongs to, or null for stem, head and classifier. */
  readonly block: string | null;
  /** Flattened weight gradient, one array per batch (all the same length). */
  readonly perBatch: readonly Float32Array[];
}

/**
 * The block (`spec.blocks[i].name`) each parameter of the cell list belongs to; stem, head and
 * classifier parameters are absent. Read from the spec's own structure and parameter naming, so
 * it holds whatever the names look like.
 */
export function paramBlocks(spec: NetworkSpec): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of spec.blocks) {
    for (const layer of blockLayers(block)) for (const [name] of layerParamShapes(layer)) out.set(name, block.name);
  }
  return out;
}

export function isAllZero(layer: LayerGradients): boolean {
  for (const g of layer.perBatch) for (let i = 0; i < g.length; i++) if (g[i] !== 0) return false;
  return true;
}

/**
 * Elementwise statistics over batches, computed in float64 (the statistics divide small numbers;
 * float32 sums lose digits across batches): `absMean` = |mean g| (intgrad's m), `meanAbs` =
 * mean |g| (ZiCo's a) and the population std (ddof 0).
 */
export function batchMoments(layer: LayerGradients): { absMean: Float64Array; meanAbs: Float64Array; std: Float64Array } {
  const B = layer.perBatch.length;
  const n = layer.perBatch[0]?.length ?? 0;
  const absMean = new Float64Array(n);
  const meanAbs = new Float64Array(n);
  const std = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0, sumAbs = 0;
    for (let b = 0; b < B; b++) { const g = layer.perBatch[b][i]; sum += g; sumAbs += Math.abs(g); }
    const mean = sum / B;
    let sq = 0;
    for (let b = 0; b < B; b++) { const d = layer.perBatch[b][i] - mean; sq += d * d; }
    absMean[i] = Math.abs(mean);
    meanAbs[i] = sumAbs / B;
    std[i] = Math.sqrt(sq / B);
  }
  return { absMean, meanAbs, std };
}

/**
 * Σ over layers (in order) and their batches (in order) of `term(layer, gradient)`, divided by the
 * number of batches: the per-batch average of a layer-summed statistic (grad_norm, SNIP).
 */
export function batchAveragedSum(records: readonly LayerGradients[], term: (layer: LayerGradients, g: Float32Array) => number): number {
  let total = 0;
  for (const r of records) for (const g of r.perBatch) total += term(r, g);
  return total / Math.max(1, records[0]?.perBatch.length ?? 1);
}

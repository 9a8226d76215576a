/**
 * Gradient records, the input of the gradient-statistic proxies (intgrad, ZiCo, grad_norm,
 * SNIP): one entry per conv/linear layer, with its weight gradient on each proxy batch.
 */

export interface LayerGradients {
  /** Parameter name, e.g. `cells.3.edge4.conv.weight`. */
  readonly name: string;
  /** The block (cell or reduction) the layer belongs to, or null for stem and classifier. */
  readonly block: string | null;
  /** Flattened weight gradient, one array per batch (all the same length). */
  readonly perBatch: readonly Float32Array[];
}

export function isAllZero(layer: LayerGradients): boolean {
  for (const g of layer.perBatch) for (let i = 0; i < g.length; i++) if (g[i] !== 0) return false;
  return true;
}

/**
 * Elementwise m = |mean over batches| and the population std (ddof 0) over batches, computed in
 * float64 (the statistic divides small numbers; float32 sums lose digits across batches).
 */
export function batchMoments(layer: LayerGradients): { absMean: Float64Array; std: Float64Array } {
  const B = layer.perBatch.length;
  const n = layer.perBatch[0]?.length ?? 0;
  const absMean = new Float64Array(n);
  const std = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += layer.perBatch[b][i];
    const mean = sum / B;
    let sq = 0;
    for (let b = 0; b < B; b++) { const d = layer.perBatch[b][i] - mean; sq += d * d; }
    absMean[i] = Math.abs(mean);
    std[i] = Math.sqrt(sq / B);
  }
  return { absMean, std };
}

/**
 * intgrad — the stable zero-shot proxy of MFNAS (Fu et al., "MFNAS: Multi-fidelity Exploration
 * in Neural Architecture Search with Stable Zero-Shot Proxy", PRICAI 2024), MFNAS.md §3.
 *
 * Like ZiCo it rewards weights whose gradients are large relative to their variation across
 * batches (mean/std), but only over a band of gradient magnitudes: the histogram bin of |g| that
 * holds the largest share of entries, summed over the cells. Ignoring the rare huge and the
 * many vanishing entries is what makes the score stable across seeds. Two fidelities come from
 * one gradient pass: the sum of m/s over kept entries per layer (intgrad_param) and its mean
 * (intgrad_mean). Each layer adds log(t + 1); higher is better; no contribution at all → 1e-5.
 */
import { batchMoments, isAllZero, type LayerGradients } from './gradients.js';

/** Bin edges over |g|: 21 half-open bins [edge[i], edge[i+1]). */
export const INTGRAD_BIN_EDGES: readonly number[] = [
  0, 5e-10, 1e-9, 5e-9, 1e-8, 5e-8, 1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
  1e-2, 5e-2, 1e-1, 5e-1, 1, 5,
];

export const INTGRAD_STD_EPS = 1e-5;
export const EMPTY_SCORE = 1e-5;

/** Index of the bin holding |g|, or -1 when it is beyond the last edge. */
export function binOf(absValue: number, edges: readonly number[] = INTGRAD_BIN_EDGES): number {
  if (!(absValue < edges[edges.length - 1])) return -1;
  // Binary search for the last edge <= absValue.
  let lo = 0, hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= absValue) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/**
 * binOf for every float32 value, by the top 16 bits of |g| (exponent and 8 mantissa bits): the
 * bin when all values with those bits share it, else -2 (the range straddles an edge; then
 * binOf decides). A lookup per entry instead of a binary search: the histogram visits every
 * gradient entry of the network on every batch.
 */
let binTable: Int8Array | null = null;
function float32BinTable(): Int8Array {
  if (binTable) return binTable;
  const table = new Int8Array(1 << 16);
  const bits = new Uint32Array(2);
  const values = new Float32Array(bits.buffer);
  for (let k = 0; k < table.length; k++) {
    bits[0] = k << 15; // smallest |g| with these top bits
    bits[1] = (k << 15) | 0x7fff; // largest
    // binOf is monotonic in |g| up to the last edge and -1 beyond it (and for NaN).
    const lo = binOf(values[0]!), hi = binOf(values[1]!);
    table[k] = lo === hi ? lo : -2;
  }
  return (binTable = table);
}

/** counts[binOf(|g[i]|)]++ for every entry of g (entries beyond the last edge are not counted). */
export function countBins(g: Float32Array, counts: number[]): void {
  // The table reads float32 bits: any other array (a Float64Array from a caller's reference
  // code) would be read as garbage bins, silently.
  if (!(g instanceof Float32Array)) throw new TypeError(`countBins: gradients must be a Float32Array, got ${Object.prototype.toString.call(g)}`);
  const table = float32BinTable();
  const bits = new Uint32Array(g.buffer, g.byteOffset, g.length);
  for (let i = 0; i < bits.length; i++) {
    let b = table[(bits[i]! & 0x7fffffff) >>> 15]!;
    if (b === -2) b = binOf(Math.abs(g[i]!));
    if (b >= 0) counts[b]!++;
  }
}

/**
 * The selected bin [lo, hi]: per cell, the fraction of its gradient entries (all layers, all
 * batches) in each bin; fractions summed over cells; the largest sum wins (first on ties).
 */
export function selectBin(layers: readonly LayerGradients[]): { lo: number; hi: number; index: number; sums: number[] } {
  const nBins = INTGRAD_BIN_EDGES.length - 1;
  const perBlock = new Map<string, { counts: number[]; total: number }>();
  for (const layer of layers) {
    if (layer.block === null) continue;
    let entry = perBlock.get(layer.block);
    if (!entry) perBlock.set(layer.block, (entry = { counts: new Array(nBins).fill(0), total: 0 }));
    for (const g of layer.perBatch) {
      countBins(g, entry.counts);
      entry.total += g.length;
    }
  }
  const sums = new Array(nBins).fill(0);
  for (const { counts, total } of perBlock.values()) {
    if (total === 0) continue;
    for (let b = 0; b < nBins; b++) sums[b] += counts[b] / total;
  }
  let index = 0;
  for (let b = 1; b < nBins; b++) if (sums[b] > sums[index]) index = b;
  return { lo: INTGRAD_BIN_EDGES[index], hi: INTGRAD_BIN_EDGES[index + 1], index, sums };
}

export interface IntgradScores {
  readonly intgrad_param: number;
  readonly intgrad_mean: number;
}

/**
 * Both fidelities from the gradient records of the cell list (stem and classifier records, with
 * block null, are ignored). Layers whose gradient is identically zero are dropped first.
 */
export function intgradScores(records: readonly LayerGradients[]): IntgradScores {
  const layers = records.filter((l) => l.block !== null && !isAllZero(l));
  if (layers.length === 0) return { intgrad_param: EMPTY_SCORE, intgrad_mean: EMPTY_SCORE };
  const { lo, hi } = selectBin(layers);
  let param = 0, mean = 0, paramContributed = false, meanContributed = false;
  for (const layer of layers) {
    const { absMean, std } = batchMoments(layer);
    let sum = 0, kept = 0;
    for (let i = 0; i < absMean.length; i++) {
      const m = absMean[i];
      if (m < lo || m > hi) continue;
      sum += m / (std[i] + INTGRAD_STD_EPS);
      kept++;
    }
    if (kept === 0) continue;
    const tParam = sum, tMean = sum / kept;
    if (tParam !== 0 && !Number.isNaN(tParam)) { param += Math.log(tParam + 1); paramContributed = true; }
    if (tMean !== 0 && !Number.isNaN(tMean)) { mean += Math.log(tMean + 1); meanContributed = true; }
  }
  return {
    intgrad_param: paramContributed ? param : EMPTY_SCORE,
    intgrad_mean: meanContributed ? mean : EMPTY_SCORE,
  };
}

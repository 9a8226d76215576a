/**
 * Everything that fixes a proxy evaluation apart from the architecture: space, dataset, the
 * proxy batches and the seeds. Two scores are comparable exactly when their contexts agree, and
 * the context's key is part of the score-cache key.
 */
import { createHash } from 'node:crypto';
import type { Batch } from '../datasets/batches.js';
import { DEFAULT_BATCHES, DEFAULT_BATCH_SIZE, downsampleBatch, makeProxyBatches } from '../datasets/batches.js';
import { loadImageSet } from '../datasets/imageSet.js';
import { datasetRef, type DatasetRef } from '../datasets/registry.js';
import type { SpaceName } from '../spaces/types.js';
import { inputKey, type ScoreSettings } from '../storage/scoreCache.js';

export interface ProxyContext {
  readonly space: SpaceName;
  /** A builtin's name or a folder dataset (plain data: it crosses to the worker threads). */
  readonly dataset: DatasetRef;
  readonly settings: ScoreSettings;
  readonly batches: readonly Batch[];
  /** Fingerprint of the bytes of `batches` (see `fingerprintBatches`). */
  readonly dataFingerprint: string;
}

export interface ProxyContextOptions {
  space: SpaceName;
  dataset: DatasetRef;
  dataDir?: string | null;
  batchSize?: number;
  batches?: number;
  /** Seed of the batch draw and augmentation (default 0). */
  dataSeed?: number;
  /** Seed of the weight initialisation (default 0). */
  initSeed?: number;
  /**
   * Side of the proxy images (default the dataset's): a divisor of it gives box-filtered,
   * smaller images — a cheaper fidelity (docs/fidelity.md). The data fingerprint, hence the
   * cache key, changes with it.
   */
  resolution?: number;
}

/** Loads the dataset and draws the proxy batches once for a whole run. */
export function createProxyContext(o: ProxyContextOptions): ProxyContext {
  const settings: ScoreSettings = {
    batchSize: o.batchSize ?? DEFAULT_BATCH_SIZE,
    batches: o.batches ?? DEFAULT_BATCHES,
    dataSeed: o.dataSeed ?? 0,
    initSeed: o.initSeed ?? 0,
  };
  const dataset = datasetRef(o.dataset);
  const set = loadImageSet(dataset, { dataDir: o.dataDir ?? undefined, split: 'train' });
  const drawn = makeProxyBatches(set, { batchSize: settings.batchSize, batches: settings.batches, seed: settings.dataSeed });
  const batches = o.resolution === undefined ? drawn : drawn.map((b) => downsampleBatch(b, o.resolution!));
  return { space: o.space, dataset, settings, batches, dataFingerprint: fingerprintBatches(batches) };
}

/**
 * SHA-256 (first 16 hex digits) of exactly what the networks see: every batch's shape, pixels
 * and labels. Another data folder, another image sample or another transform gives another
 * fingerprint, so a cached score can never come from other data.
 */
export function fingerprintBatches(batches: readonly Batch[]): string {
  const h = createHash('sha256');
  for (const b of batches) {
    h.update(Int32Array.from([b.n, b.height, b.width]));
    h.update(new Uint8Array(b.x.buffer, b.x.byteOffset, b.x.byteLength));
    h.update(new Uint8Array(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** The part of the score-cache key that names the proxy input. */
export function contextKey(ctx: ProxyContext): string {
  return inputKey(ctx.settings, ctx.dataFingerprint);
}

/**
 * A scoring session: the proxy context (data loaded and batches drawn once), the evaluator
 * (in-process or a worker pool on the auto-selected engine) and the score cache, behind one
 * `Scorer`. Everything that scores architectures — the library's `score`/`search`, and the CLI's
 * `score`, `correlate` and `search` — opens one of these and closes it when done.
 */
import type { DatasetRef } from '../datasets/registry.js';
import type { SpaceName } from '../spaces/types.js';
import { ScoreCache } from '../storage/scoreCache.js';
import { defaultCachePath } from '../storage/paths.js';
import { createProxyContext } from '../proxies/context.js';
import { createEvaluator } from './chooseEvaluator.js';
import { Scorer, type Evaluator, type ScorerOptions } from '../proxies/scorer.js';

export interface ScoringSessionOptions {
  readonly space: SpaceName;
  /** A builtin's name, or a folder dataset opened with `resolveDataset` / `openImageFolder`. */
  readonly dataset: DatasetRef;
  /** Data folder (default: MFNAS_DATA_DIR, else ../shared/data). */
  readonly dataDir?: string | null;
  /** Images per proxy batch (default 128). */
  readonly batch?: number;
  /** Number of proxy batches (default 2). */
  readonly batches?: number;
  /** Side of the proxy images when smaller than the dataset's (box-filtered; a cheaper input). */
  readonly resolution?: number;
  /** Seed of the proxy batches (default 0). */
  readonly dataSeed?: number;
  /** Seed of the weight initialisation (default 0). */
  readonly initSeed?: number;
  /**
   * Score cache: a file path, an open `ScoreCache` (left open on close), or `false` for none.
   * Default: MFNAS_CACHE, else ~/.cache/mfnas/scores.sqlite.
   */
  readonly cache?: string | false | ScoreCache;
  /** Worker threads (default one per core; 1 evaluates on the calling thread). */
  readonly workers?: number;
  /**
   * Architectures the session will score, when known in advance (correlate): a job one worker
   * would serve then runs on the calling thread, without a worker's start-up.
   */
  readonly jobs?: number;
  /**
   * A Redis URL (redis://[user:password@]host:port[/db], rediss:// for TLS): evaluations go to
   * `mfnas worker`s through BullMQ instead of local threads (src/queue, docs/distributed.md).
   */
  readonly queue?: string;
  readonly onResult?: ScorerOptions['onResult'];
}

export interface ScoringSession {
  readonly scorer: Scorer;
  /** Where evaluations run (a worker pool, the calling thread or the queue). */
  readonly evaluator: Evaluator;
  readonly cache: ScoreCache | null;
  close(): Promise<void>;
}

export async function openScoringSession(o: ScoringSessionOptions): Promise<ScoringSession> {
  const ctx = createProxyContext({
    space: o.space, dataset: o.dataset, dataDir: o.dataDir, batchSize: o.batch, batches: o.batches,
    dataSeed: o.dataSeed, initSeed: o.initSeed, ...(o.resolution !== undefined ? { resolution: o.resolution } : {}),
  });
  const owned = o.cache === false || o.cache instanceof ScoreCache ? null : new ScoreCache(o.cache ?? defaultCachePath());
  const cache = o.cache instanceof ScoreCache ? o.cache : owned;
  if (owned?.migratedFrom != null) {
    process.stderr.write(`mfnas: the score cache ${owned.path} was written by mfnas 0.1 without data fingerprints; ` +
      'its old scores are set aside (table scores_v1) and will be recomputed\n');
  }
  try {
    const evaluator = await createEvaluator(ctx, { workers: o.workers, queue: o.queue, jobs: o.jobs });
    const scorer = new Scorer(ctx, evaluator, { onResult: o.onResult, cache });
    return {
      scorer, cache, evaluator,
      async close() {
        await evaluator.close();
        owned?.close();
      },
    };
  } catch (e) {
    owned?.close();
    throw e;
  }
}

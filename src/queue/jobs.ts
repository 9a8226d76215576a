/**
 * What travels through the queue: one job per (score-cache key, proxies), and its result.
 *
 * A job names its work by the same facts as the score cache (space, dataset, canonical class,
 * proxy input with the data fingerprint, engine, proxy versions), so its id — a digest of that
 * key — collapses duplicates: the same class asked twice, by one run or by two, is one job, and a
 * rerun finds the finished job instead of queueing it again. The worker rebuilds the proxy input
 * from its own data and refuses a job whose fingerprint, engine or proxy versions it cannot match.
 *
 * Scores cross as text (`encodeScore`): JSON would turn NaN and ±Infinity into null and -0 into 0,
 * and a queued score must be the local one bit for bit.
 */
import { createHash } from 'node:crypto';
import { hostname, cpus } from 'node:os';
import type { DatasetName } from '../datasets/registry.js';
import { PROXIES, isProxyName, type ProxyName } from '../proxies/registry.js';
import type { ScoreSettings } from '../storage/scoreCache.js';
import type { SpaceName } from '../spaces/types.js';

/** The BullMQ queue all mfnas scoring jobs go to. */
export const QUEUE_NAME = 'mfnas-scores';
/** Bumped when the job or result layout changes: a worker refuses jobs of another layout. */
export const JOB_SCHEMA = 1;
/** A refused job's failure reason starts with this, so the submitter can tell refusal from failure. */
export const REFUSED = 'refused by worker';

/** A dataset as a job names it: a builtin, or an image folder the worker opens at the same path. */
export type JobDataset =
  | { readonly kind: 'builtin'; readonly name: DatasetName }
  | { readonly kind: 'folder'; readonly dir: string; readonly imageSize: number; readonly skipBad: boolean; readonly fingerprint: string };

export interface ScoreJobData {
  readonly schema: number;
  /** The score-cache key in text (the job id is its digest). */
  readonly key: string;
  readonly space: SpaceName;
  readonly dataset: JobDataset;
  /** The dataset part of the cache key (a builtin's name or `folder:<fingerprint>`). */
  readonly datasetKey: string;
  readonly settings: ScoreSettings;
  /** Fingerprint of the submitter's proxy batches: the worker's must equal it. */
  readonly dataFingerprint: string;
  /** The engine key of the run: the worker's must equal it. */
  readonly engine: string;
  /** The class representative to evaluate. */
  readonly arch: string;
  readonly canonical: string;
  readonly proxies: readonly { readonly name: ProxyName; readonly version: number }[];
}

/** Who computed a result (for logs and the run summary). */
export interface WorkerIdentity {
  readonly host: string;
  readonly pid: number;
  readonly cpu: string;
}

export interface ScoreJobResult {
  readonly schema: number;
  /** Proxy name → `encodeScore` text. */
  readonly scores: Record<string, string>;
  readonly seconds: number;
  readonly engine: string;
  readonly dataFingerprint: string;
  readonly worker: WorkerIdentity;
}

/** The score-cache key of a job, as text (field order fixed; proxies sorted by name). */
export function jobKey(d: Omit<ScoreJobData, 'schema' | 'key'>): string {
  const proxies = [...d.proxies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => `${p.name}@${p.version}`).join(',');
  const s = d.settings;
  const input = `b${s.batchSize}x${s.batches}-d${s.dataSeed}-i${s.initSeed}-${d.dataFingerprint}`;
  return [d.space, d.datasetKey, d.canonical, input, d.engine, proxies].join('|');
}

/**
 * The BullMQ job id of a key: `s` and 40 hex digits of its SHA-256 (BullMQ ids may not contain
 * ':', which engine keys do, nor be plain integers).
 */
export function jobId(key: string): string {
  return `s${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** A float64 as text that reads back to the same bits (NaN, ±Infinity and -0 included). */
export function encodeScore(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

export function decodeScore(text: string): number {
  if (text === 'NaN') return NaN;
  const v = Number(text);
  if (Number.isNaN(v)) throw new Error(`not a score: ${JSON.stringify(text.slice(0, 40))}`);
  return v;
}

export function workerIdentity(): WorkerIdentity {
  return { host: hostname(), pid: process.pid, cpu: cpus()[0]?.model?.trim() ?? 'unknown' };
}

/**
 * Why this mfnas cannot run a job (another job layout, an unknown proxy or another definition
 * version of one), or null when it can.
 */
export function jobIncompatibility(d: ScoreJobData): string | null {
  if (d?.schema !== JOB_SCHEMA) return `job layout ${String(d?.schema)} differs from this worker's ${JOB_SCHEMA} (another mfnas version): run the same mfnas version on workers and submitter`;
  for (const p of d.proxies) {
    if (!isProxyName(p.name)) return `unknown proxy ${JSON.stringify(String(p.name).slice(0, 40))} (another mfnas version): run the same mfnas version everywhere`;
    if (PROXIES[p.name].version !== p.version) {
      return `proxy ${p.name} is version ${p.version} in the job, ${PROXIES[p.name].version} in this worker: run the same mfnas version everywhere`;
    }
  }
  return null;
}

/** The result's scores decoded, checked to be exactly the proxies asked for. */
export function decodeResult(d: ScoreJobData, r: ScoreJobResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of d.proxies) {
    const text = r?.scores?.[p.name];
    if (typeof text !== 'string') throw new Error(`the result has no score for ${p.name}`);
    out[p.name] = decodeScore(text);
  }
  return out;
}

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
import path from 'node:path';
import { DATASETS, type DatasetName } from '../datasets/registry.js';
import { BUILTIN_PROXY_NAMES, PROXIES, isBuiltinProxy, type BuiltinProxyName, type ProxyName } from '../proxies/registry.js';
import type { ScoreSettings } from '../storage/scoreCache.js';
import { isSpaceName, spaceNames } from '../spaces/index.js';
import type { SpaceName } from '../spaces/types.js';
import { quoteInput } from '../util/errors.js';

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
  readonly proxies: readonly { readonly name: BuiltinProxyName; readonly version: number }[];
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
 * What one queue job may ask of a worker. Anyone who can write to the Redis can queue a job, so
 * these bound the time and memory a single job can cost; they sit well above what a scan or
 * search needs (its defaults: 2 batches of 128 images of 32 px).
 */
export const JOB_LIMITS = {
  /** The command line's --arch limit; every space's representative is far shorter. */
  archChars: 200,
  /** Canonical class keys are at most ~120 characters (TSS). */
  canonicalChars: 400,
  engineChars: 200,
  dirChars: 4096,
  batchSize: 1024,
  batches: 16,
  /** The generator keeps 32 bits of a seed (src/util/rng.ts), as the --seed flags do. */
  seed: 2 ** 32 - 1,
  /**
   * Largest side of a folder job's images. The command line allows 512 on a machine its user
   * owns; on a worker, a folder at 512 px costs 16 times the memory per image and per network
   * activation of one at 128 px (the hostile probe grew a worker to 7 GB), so queue jobs stop at
   * 128.
   */
  imageSize: 128,
  /** Images (train and test) of a folder job, whatever their size. */
  images: 50_000,
  /** Bytes of a folder job's decoded images held in memory (3 bytes per pixel). */
  decodedBytes: 256 * 2 ** 20,
  /** Pixels of one proxy batch (batch size × side²): network activations grow with it. */
  batchPixels: 2 ** 21,
  /** Pixels of all proxy batches of a job (96 MiB as float32 RGB). */
  inputPixels: 2 ** 23,
} as const;

/** The most images a folder job of `imageSize` may hold (JOB_LIMITS.images and .decodedBytes). */
export function maxFolderImages(imageSize: number): number {
  return Math.min(JOB_LIMITS.images, Math.floor(JOB_LIMITS.decodedBytes / (3 * imageSize * imageSize)));
}

/** Why a worker refuses a job (the message goes after the REFUSED prefix). */
export class JobRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRefusal';
  }
}

/** The fix for a job no mfnas of this version would have queued. */
const NOT_OURS = 'queue jobs with mfnas scan/correlate/search --queue of the same version';

type Fields = Record<string, unknown>;

function refuse(message: string): never {
  throw new JobRefusal(message);
}

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `value` is an object with exactly the fields `names`. */
function record(value: unknown, what: string, names: readonly string[]): Fields {
  if (!isRecord(value)) refuse(`the job's ${what} is ${describeValue(value)}, not an object: ${NOT_OURS}`);
  for (const k of Object.keys(value)) {
    if (!names.includes(k)) refuse(`the job's ${what} has an unknown field ${quoteInput(k, { max: 40 })}: ${NOT_OURS}`);
  }
  for (const k of names) if (!Object.hasOwn(value, k)) refuse(`the job's ${what} has no ${k}: ${NOT_OURS}`);
  return value;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return quoteInput(v, { max: 40 });
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `a ${typeof v}`;
}

function text(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    refuse(`the job's ${what} must be a text of 1 to ${max} characters, got ${describeValue(v)}: ${NOT_OURS}`);
  }
  return v;
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    refuse(`the job's ${what} must be an integer from ${min} to ${max}, got ${describeValue(v)}: ${NOT_OURS}`);
  }
  return v;
}

function hex(v: unknown, what: string, digits: number): string {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${digits}}$`).test(v)) {
    refuse(`the job's ${what} must be ${digits} hex digits, got ${describeValue(v)}: ${NOT_OURS}`);
  }
  return v;
}

function parseDataset(v: unknown): JobDataset {
  if (isRecord(v) && v.kind === 'builtin') {
    const d = record(v, 'dataset', ['kind', 'name']);
    if (typeof d.name !== 'string' || !Object.hasOwn(DATASETS, d.name)) {
      refuse(`the job's dataset ${describeValue(d.name)} is not a builtin dataset (${Object.keys(DATASETS).join(', ')}): ${NOT_OURS}`);
    }
    return { kind: 'builtin', name: d.name as DatasetName };
  }
  if (isRecord(v) && v.kind === 'folder') {
    const d = record(v, 'dataset', ['kind', 'dir', 'imageSize', 'skipBad', 'fingerprint']);
    const dir = text(d.dir, 'image folder', JOB_LIMITS.dirChars);
    // The worker resolves the folder against its --image-root folders; a relative path or one
    // with `..` has no business in a job (the submitter sends its folder's absolute path).
    if (!path.isAbsolute(dir) || dir.split(/[\\/]/).includes('..') || dir.includes('\0')) {
      refuse(`the job's image folder ${quoteInput(dir, { max: 80, tail: true })} is not an absolute path without '..': ${NOT_OURS}`);
    }
    const imageSize = int(d.imageSize, 'imageSize', 8, JOB_LIMITS.imageSize);
    if (imageSize % 4 !== 0) refuse(`the job's imageSize must be a multiple of 4 (the networks halve it twice), got ${imageSize}: ${NOT_OURS}`);
    if (typeof d.skipBad !== 'boolean') refuse(`the job's skipBad must be true or false, got ${describeValue(d.skipBad)}: ${NOT_OURS}`);
    return { kind: 'folder', dir, imageSize, skipBad: d.skipBad, fingerprint: hex(d.fingerprint, 'folder fingerprint', 64) };
  }
  return refuse(`the job's dataset must be a builtin's name or an image folder, got ${isRecord(v) ? `kind ${describeValue(v.kind)}` : describeValue(v)}: ${NOT_OURS}`);
}

function parseSettings(v: unknown, side: number): ScoreSettings {
  const s = record(v, 'settings', ['batchSize', 'batches', 'dataSeed', 'initSeed']);
  const batchSize = int(s.batchSize, 'batch size', 1, JOB_LIMITS.batchSize);
  const batches = int(s.batches, 'batch count', 1, JOB_LIMITS.batches);
  const dataSeed = int(s.dataSeed, 'data seed', 0, JOB_LIMITS.seed);
  const initSeed = int(s.initSeed, 'init seed', 0, JOB_LIMITS.seed);
  const pixels = batchSize * side * side;
  if (pixels > JOB_LIMITS.batchPixels || pixels * batches > JOB_LIMITS.inputPixels) {
    refuse(`the job's proxy input (${batches} batches of ${batchSize} images of ${side} px) is over a worker's limits ` +
      `(batch size × side² ≤ ${JOB_LIMITS.batchPixels}, × batches ≤ ${JOB_LIMITS.inputPixels}): use smaller batches`);
  }
  return { batchSize, batches, dataSeed, initSeed };
}

/**
 * The proxies of a job to submit, with their versions. Builtins only: the submitter computes the
 * proxies its script registered itself (scoring/chooseEvaluator.ts), so one here is a bug.
 */
export function jobProxies(proxies: readonly ProxyName[]): ScoreJobData['proxies'] {
  return proxies.map((name) => {
    if (!isBuiltinProxy(name)) throw new Error(`internal: the registered proxy ${name} was sent to the queue; its submitter computes it`);
    return { name, version: PROXIES[name].version };
  });
}

/**
 * The job's proxies: builtins only. A proxy a script registered is computed by its submitter
 * (scoring/chooseEvaluator.ts) and never queued; a worker that happens to have one of that name
 * registered could not know it is the submitter's code.
 */
function parseProxies(v: unknown): ScoreJobData['proxies'] {
  if (!Array.isArray(v) || v.length === 0 || v.length > BUILTIN_PROXY_NAMES.length) {
    refuse(`the job's proxies must be a list of 1 to ${BUILTIN_PROXY_NAMES.length} proxies, got ${describeValue(v)}: ${NOT_OURS}`);
  }
  const seen = new Set<string>();
  return v.map((item) => {
    const p = record(item, 'proxy', ['name', 'version']);
    if (typeof p.name !== 'string' || !isBuiltinProxy(p.name)) {
      refuse(`unknown proxy ${describeValue(p.name)} (another mfnas version, or a script's own proxy, which its submitter computes): run the same mfnas version everywhere`);
    }
    if (seen.has(p.name)) refuse(`the job names proxy ${p.name} twice: ${NOT_OURS}`);
    seen.add(p.name);
    if (p.version !== PROXIES[p.name].version) {
      refuse(`proxy ${p.name} is version ${describeValue(p.version)} in the job, ${PROXIES[p.name].version} in this worker: run the same mfnas version everywhere`);
    }
    return { name: p.name, version: PROXIES[p.name].version };
  });
}

const JOB_FIELDS = ['schema', 'key', 'space', 'dataset', 'datasetKey', 'settings', 'dataFingerprint', 'engine', 'arch', 'canonical', 'proxies'] as const;

/**
 * A queue job's payload checked whole against the job schema — types, ranges, known space,
 * dataset and proxies, text lengths, the proxy input's size, and the key it claims — before a
 * worker does anything with it. Throws a JobRefusal saying what is wrong (user text quoted and
 * escaped). The data, the engine and the arch string itself are the worker's to check: they
 * need its files, its engine and the space's parser.
 */
export function parseJob(raw: unknown): ScoreJobData {
  if (!isRecord(raw) || raw.schema !== JOB_SCHEMA) {
    refuse(`job layout ${isRecord(raw) ? describeValue(raw.schema) : describeValue(raw)} differs from this worker's ${JOB_SCHEMA} (another mfnas version): ` +
      'run the same mfnas version on workers and submitter');
  }
  const j = record(raw, 'payload', JOB_FIELDS);
  if (typeof j.space !== 'string' || !isSpaceName(j.space)) {
    refuse(`the job's space ${describeValue(j.space)} is not one of ${spaceNames().join(', ')}: ${NOT_OURS}`);
  }
  const space = j.space as SpaceName;
  const dataset = parseDataset(j.dataset);
  const expectedKey = dataset.kind === 'builtin' ? dataset.name : `folder:${dataset.fingerprint}`;
  if (j.datasetKey !== expectedKey) refuse(`the job's datasetKey ${describeValue(j.datasetKey)} does not match its dataset: ${NOT_OURS}`);
  const side = dataset.kind === 'builtin' ? DATASETS[dataset.name].resolution : dataset.imageSize;
  const d: ScoreJobData = {
    schema: JOB_SCHEMA,
    key: text(j.key, 'key', 4 * JOB_LIMITS.archChars + JOB_LIMITS.engineChars + 400),
    space, dataset, datasetKey: expectedKey,
    settings: parseSettings(j.settings, side),
    dataFingerprint: hex(j.dataFingerprint, 'data fingerprint', 16),
    engine: text(j.engine, 'engine', JOB_LIMITS.engineChars),
    arch: text(j.arch, 'arch', JOB_LIMITS.archChars),
    canonical: text(j.canonical, 'canonical class', JOB_LIMITS.canonicalChars),
    proxies: parseProxies(j.proxies),
  };
  // The id collapses duplicates by this key: a job whose key is not its content's would let one
  // job's result be taken for another's.
  if (jobKey(d) !== d.key) refuse(`the job's key does not match its content: ${NOT_OURS}`);
  return d;
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

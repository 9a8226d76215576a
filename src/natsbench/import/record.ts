/**
 * Reading one NATS-Bench "simple" record (`NNNNNN.pickle.pbz2`) or the benchmark meta file
 * (`meta.pickle.pbz2`) into the numbers the tables need.
 *
 * Record structure (checked on the official files): an OrderedDict keyed by training length
 * ('12', '200' for TSS; '01', '12', '90' for SSS); each value is the state of an `ArchResults`:
 *   arch_index, arch_str,
 *   dataset_seed: {'cifar10-valid': [777, 888, 999], 'cifar10': [...], 'cifar100': [...], 'ImageNet16-120': [...]},
 *   all_results: {(dataset, seed): ResultsCount state}, clear_net_done.
 * A ResultsCount state has name, epochs, params (millions), flop (millions), latency (list of
 * seconds), train_times ({epoch: seconds}), eval_names and eval_acc1es ({'<set>@<epoch>': %}).
 *
 * The numbers reproduce the official API (nats_bench, api_topology.py / api_size.py / api_utils.py):
 *   test accuracy  = get_more_info(i, d, hp=H, is_random=False)['test-accuracy']:
 *                    mean over the seeds of dataset_seed[d] (in that order) of the accuracy at
 *                    the last epoch on 'ori-test' for d = cifar10 and on 'x-test' for
 *                    cifar100 / ImageNet16-120 (their 'ori-test' is valid+test, "valtest");
 *   valid accuracy = the same API's 'valid-accuracy' on 'x-valid': for CIFAR-10 that only
 *                    exists in the 'cifar10-valid' runs (trained on the train split), so it is
 *                    get_more_info(i, 'cifar10-valid', ...)['valid-accuracy'] — the usual
 *                    NAS-Bench-201 "CIFAR-10 validation accuracy";
 *   params / FLOPs / latency / training time = get_cost_info(i, d, hp=H): the mean over seeds of
 *                    `params` (reported here as a count: millions × 1e6, rounded), `flop`
 *                    (millions, as NATS-Bench reports them), the latency (mean of each run's
 *                    list, runs without latency skipped; seconds) and 'T-train@total' (the sum
 *                    of the per-epoch training times; seconds).
 * H = 200 epochs for TSS, 90 for SSS.
 */
import type { DatasetName } from '../../datasets/registry.js';
import { DataError, InputError } from '../../util/errors.js';
import { readRegularFileSync } from '../../util/regularFile.js';
import { parseTssCell, TSS_SIZE } from '../../spaces/tss/cell.js';
import { formatSssChannels, sssFromIndex, SSS_SIZE } from '../../spaces/sss/channels.js';
import type { SpaceName } from '../../spaces/types.js';
import {
  asArray, asMap, asNumber, asString, bunzip, getKey, joinPath, shapeError, unpickle, type PyMap,
} from './pickle.js';

export const NATS_DATASETS: readonly DatasetName[] = ['cifar10', 'cifar100', 'ImageNet16-120'];

/** Training length (the record's top-level key) whose results the tables hold. */
export const TABLE_EPOCHS: Readonly<Record<SpaceName, number>> = { tss: 200, sss: 90 };

export interface DatasetMetrics {
  /** Test accuracy (%), mean over seeds. */
  test: number | null;
  /** Validation accuracy (%), mean over seeds. */
  valid: number | null;
  /** Parameter count. */
  params: number | null;
  /** FLOPs in millions (as NATS-Bench reports them). */
  flops: number | null;
  /** Inference latency in seconds. */
  latency: number | null;
  /** Total training time of one run, seconds. */
  trainTime: number | null;
}

export interface ArchSummary {
  index: number;
  arch: string;
  metrics: Record<DatasetName, DatasetMetrics>;
}

/** The key of a record's top-level dict for `epochs` ('200', '90', '01', ...). */
function hpKey(map: PyMap, epochs: number): string {
  for (const k of map.keys()) if (typeof k === 'string' && Number(k) === epochs) return k;
  return String(epochs);
}

function mean(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Summarise the record of architecture `index` (the contents of `file`, still compressed).
 * Throws a DataError naming the file for anything unexpected.
 */
export function summarizeArchRecord(compressed: Uint8Array, file: string, space: SpaceName, index: number): ArchSummary {
  const root = asMap(unpickle(bunzip(compressed, file), file), file, '');
  const epochs = TABLE_EPOCHS[space];
  const key = hpKey(root, epochs);
  if (!root.has(key)) {
    const keys = [...root.keys()].map(String);
    const other = space === 'tss' ? 'sss' : 'tss';
    const otherKeys = space === 'tss' ? ['01', '90'] : ['200'];
    const hint = keys.some((k) => otherKeys.includes(k)) ? ` — this looks like a ${other} record; use --space ${other}` : '';
    throw new DataError(`${file}: no ${epochs}-epoch results (the record has training lengths ${keys.join(', ') || 'none'})${hint}`);
  }
  const at0 = joinPath('', key);
  const rec = asMap(root.get(key), file, at0);
  const recIndex = asNumber(getKey(rec, 'arch_index', file, at0), file, joinPath(at0, 'arch_index'));
  if (recIndex !== index) {
    throw new DataError(`${file}: holds architecture ${recIndex}, but its file name says ${index}; the folder is mixed up — re-extract the official archive`);
  }
  const arch = asString(getKey(rec, 'arch_str', file, at0), file, joinPath(at0, 'arch_str'));
  const atSeeds = joinPath(at0, 'dataset_seed');
  const seeds = asMap(getKey(rec, 'dataset_seed', file, at0), file, atSeeds);
  const atAll = joinPath(at0, 'all_results');
  const all = asMap(getKey(rec, 'all_results', file, at0), file, atAll);
  const runs = new Map<string, PyMap>();
  for (const [k, v] of all) {
    if (!Array.isArray(k) || k.length !== 2 || typeof k[0] !== 'string') {
      throw shapeError(file, atAll, `expected (dataset, seed) keys, found ${JSON.stringify(k)}`);
    }
    runs.set(`${k[0]}\u0000${String(k[1])}`, asMap(v, file, `${atAll}[${JSON.stringify(k)}]`));
  }

  /** The runs of a dataset with their location in the file, or null if the dataset is absent. */
  const trials = (dataset: string): { run: PyMap; at: string }[] | null => {
    if (!seeds.has(dataset)) return null;
    const list = asArray(seeds.get(dataset), file, joinPath(atSeeds, dataset));
    if (list.length === 0) return null;
    return list.map((seed) => {
      const at = `${atAll}[('${dataset}', ${String(seed)})]`;
      const run = runs.get(`${dataset}\u0000${String(seed)}`);
      if (!run) throw shapeError(file, at, 'missing (dataset_seed lists this run)');
      const runEpochs = asNumber(getKey(run, 'epochs', file, at), file, joinPath(at, 'epochs'));
      if (runEpochs !== epochs) {
        throw shapeError(file, joinPath(at, 'epochs'), `${runEpochs} epochs in the ${key}-epoch results`);
      }
      return { run, at };
    });
  };

  const accuracy = (dataset: string, setName: string): number | null => {
    const ts = trials(dataset);
    if (ts === null) return null;
    return mean(ts.map(({ run, at }) => {
      const atAcc = joinPath(at, 'eval_acc1es');
      const accs = asMap(getKey(run, 'eval_acc1es', file, at), file, atAcc);
      const k = `${setName}@${epochs - 1}`;
      return asNumber(getKey(accs, k, file, atAcc), file, joinPath(atAcc, k));
    }));
  };

  const costs = (dataset: string): Pick<DatasetMetrics, 'params' | 'flops' | 'latency' | 'trainTime'> => {
    const ts = trials(dataset);
    if (ts === null) return { params: null, flops: null, latency: null, trainTime: null };
    const params = mean(ts.map(({ run, at }) => asNumber(getKey(run, 'params', file, at), file, joinPath(at, 'params'))));
    const flops = mean(ts.map(({ run, at }) => asNumber(getKey(run, 'flop', file, at), file, joinPath(at, 'flop'))));
    const latencies: number[] = [];
    const trainTimes: (number | null)[] = [];
    for (const { run, at } of ts) {
      const lat = run.get('latency');
      if (lat !== undefined && lat !== null) {
        const list = asArray(lat, file, joinPath(at, 'latency')).map((x, i) => asNumber(x, file, joinPath(joinPath(at, 'latency'), i)));
        const v = list.length > 0 ? mean(list) : -1;
        if (v > 0) latencies.push(v);
      }
      const tt = run.get('train_times');
      if (tt instanceof Map) {
        let s = 0;
        for (const [e, x] of tt) s += asNumber(x, file, `${joinPath(at, 'train_times')}[${String(e)}]`);
        trainTimes.push(s);
      } else {
        trainTimes.push(null);
      }
    }
    return {
      params: Math.round(params * 1e6),
      flops,
      latency: latencies.length > 0 ? mean(latencies) : null,
      trainTime: trainTimes.length > 0 && trainTimes[0] !== null ? mean(trainTimes.map((x) => x ?? NaN)) : null,
    };
  };

  const metrics = {} as Record<DatasetName, DatasetMetrics>;
  for (const d of NATS_DATASETS) {
    const test = d === 'cifar10' ? accuracy('cifar10', 'ori-test') : accuracy(d, 'x-test');
    const valid = d === 'cifar10' ? accuracy('cifar10-valid', 'x-valid') : accuracy(d, 'x-valid');
    metrics[d] = { test, valid, ...costs(d) };
    for (const [k, v] of Object.entries(metrics[d])) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw shapeError(file, at0, `the ${k} of ${d} is not a finite number`);
      }
    }
  }
  return { index, arch, metrics };
}

/** Architecture strings of the benchmark, in index order, from `meta.pickle.pbz2`. */
export function readMeta(compressed: Uint8Array, file: string, space: SpaceName): string[] {
  const root = asMap(unpickle(bunzip(compressed, file), file), file, '');
  const archs = asArray(getKey(root, 'meta_archs', file, ''), file, "['meta_archs']").map((a, i) =>
    asString(a, file, `['meta_archs'][${i}]`),
  );
  const looksSss = archs.length > 0 && /^\d+(:\d+){4}$/.test(archs[0]);
  if ((space === 'tss') === looksSss) {
    const other = looksSss ? 'sss' : 'tss';
    throw new InputError(`${file} is the meta file of the ${other} benchmark (${archs.length.toLocaleString('en-US')} architectures); use --space ${other}`);
  }
  const size = space === 'tss' ? TSS_SIZE : SSS_SIZE;
  if (archs.length !== size) {
    throw new DataError(`${file}: meta_archs lists ${archs.length} architectures, expected ${size} for ${space}; re-extract the official archive`);
  }
  if (root.has('total_archs')) {
    const total = asNumber(root.get('total_archs'), file, "['total_archs']");
    if (total !== size) throw new DataError(`${file}: total_archs is ${total}, expected ${size}; re-extract the official archive`);
  }
  for (let i = 0; i < size; i++) {
    if (space === 'tss') {
      try {
        parseTssCell(archs[i]);
      } catch (e) {
        throw new DataError(`${file}: meta_archs[${i}] '${archs[i]}' is not a TSS cell (${(e as Error).message}); re-extract the official archive`);
      }
    } else if (archs[i] !== formatSssChannels(sssFromIndex(i))) {
      throw new DataError(`${file}: meta_archs[${i}] is '${archs[i]}', expected ${formatSssChannels(sssFromIndex(i))}; re-extract the official archive`);
    }
  }
  return archs;
}

/** Read `file` and summarise it (see summarizeArchRecord); DataError if it cannot be read. */
export function summarizeRecordFile(file: string, space: SpaceName, index: number): ArchSummary {
  let data: Buffer;
  try {
    data = readRegularFileSync(file, { what: 'the benchmark record', hint: 're-extract the official archive' });
  } catch (e) {
    throw new DataError(`${file}: cannot be read (${(e as Error).message})`);
  }
  return summarizeArchRecord(data, file, space, index);
}

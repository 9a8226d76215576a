/**
 * npm run bench:small — speed at every job size: the whole-process time of `mfnas correlate`
 * (start-up, data, workers, scoring, exit; default workers × threads, no cache) on a 6-cell and a
 * 40-cell TSS list, CIFAR-10, intgrad (2 x 128 images), against PyTorch 1.13's in-process time
 * for the same cells (network construction + forward/backward on 2 batches of 128, at as many
 * threads as cores), side by side in one run.
 *
 * Targets (issue 14): 6 cells ≤ 1.0x PyTorch, 40 cells ≤ 0.4x.
 * Runs the compiled CLI (dist/; `npm run build` first) unless --tsx.
 * Flags: --repeats 1 --threads <cores> --tsx --only 6,40
 */
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { openNatsBenchTables } from '../../src/natsbench/tables.js';
import { sampleIndices } from '../../src/study/correlate.js';
import { median, printTable, TORCH_PYTHON, torchAvailable } from '../common.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '1' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    tsx: { type: 'boolean', default: false },
    only: { type: 'string', default: '6,40' },
  },
});
const repeats = Number(values.repeats), threads = Number(values.threads);
const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dataDir = requireDataDir();
const tss = openNatsBenchTables(dataDir).tss!;

/** The 6 cells: indices 1 and 1462 (an all-conv-heavy one) and four drawn with seed 1. */
function jobIndices(n: number): number[] {
  if (n !== 6) return sampleIndices('tss', n, 0, tss.size);
  const extra = sampleIndices('tss', 8, 1, tss.size).filter((i) => i !== 1 && i !== 1462).slice(0, 4);
  return [1, 1462, ...extra];
}

function mfnasSeconds(indices: number[]): number {
  const cli = values.tsx ? ['--import', 'tsx', path.join(root, 'src/cli/main.ts')] : [path.join(root, 'dist/cli/main.js')];
  if (!values.tsx && !existsSync(cli[0])) throw new Error('dist/ is missing: run `npm run build` first (or pass --tsx)');
  const args = [...cli, 'correlate', '--space', 'tss', '--dataset', 'cifar10', '--indices', indices.join(','),
    '--proxies', 'intgrad_param,intgrad_mean', '--no-cache', '--json'];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, MFNAS_DATA_DIR: dataDir } });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`mfnas correlate failed (${r.status}): ${r.stderr.slice(-400)}`);
  return s;
}

const TORCH_LOOP = `
import sys, json, time, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[1])
from nb201_torch import TinyNetwork
torch.set_num_threads(int(sys.argv[2]))
archs = json.loads(sys.argv[3])
torch.manual_seed(0)
xs = [torch.randn(128, 3, 32, 32) for _ in range(2)]
ys = [torch.randint(0, 10, (128,)) for _ in range(2)]
TinyNetwork(archs[0], 10).train()  # import/first-call costs are not part of the job
t0 = time.perf_counter()
for a in archs:
    net = TinyNetwork(a, 10).train()
    for x, y in zip(xs, ys):
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
print(json.dumps({'seconds': time.perf_counter() - t0, 'torch': torch.__version__}))
`;

function torchSeconds(indices: number[]): number {
  const archs = indices.map((i) => tss.archString(i));
  const out = execFileSync(TORCH_PYTHON, ['-c', TORCH_LOOP, path.join(root, 'bench/reference'), String(threads), JSON.stringify(archs)],
    { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!).seconds;
}

const withTorch = torchAvailable();
const load = os.loadavg()[0];
console.log(`bench:small — mfnas correlate (whole process, ${values.tsx ? 'tsx' : 'dist'}) vs PyTorch in-process, ` +
  `${os.availableParallelism()} cores, load ${load.toFixed(1)} at start, ${repeats} repeat(s)`);
const rows: Array<Array<string | number>> = [];
for (const n of values.only!.split(',').map(Number)) {
  const indices = jobIndices(n);
  const m: number[] = [], t: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // Interleaved, so both sides see the same machine load.
    m.push(mfnasSeconds(indices));
    if (withTorch) t.push(torchSeconds(indices));
  }
  const ms = median(m), ts = withTorch ? median(t) : NaN;
  const target = n <= 6 ? 1.0 : 0.4;
  rows.push([n, ms.toFixed(2), withTorch ? ts.toFixed(2) : '-', withTorch ? (ms / ts).toFixed(2) : '-', `≤ ${target}`]);
  console.error(`  ${n} cells: mfnas ${m.map((x) => x.toFixed(2)).join(', ')} s; PyTorch ${t.map((x) => x.toFixed(2)).join(', ')} s`);
}
printTable(['cells', 'mfnas s (process)', 'PyTorch s (in-process)', 'ratio', 'target'], rows);
console.log(`load average at end: ${os.loadavg()[0].toFixed(1)}`);

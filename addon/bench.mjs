#!/usr/bin/env node
// Benchmarks the native oneDNN kernels against PyTorch, side by side in one run.
//
//   node addon/bench.mjs [--reps 7] [--threads 1,2] [--no-torch] [--formats] [--stat median|min] [--gap 30]
//   node addon/bench.mjs --format-grid [--reps 7]
//
// Ours: conv3x3 forward / backward-data / backward-filter in NHWC + HWIO
// (tfjs layouts) through the addon, plus BN / avg-pool / ReLU. PyTorch
// (/usr/bin/python3 with `import torch`, e.g. Debian's python3-torch) runs in a
// persistent child process that receives the same jobs interleaved with ours,
// so both see the same machine load: each round runs every variant once
// (ours per format, torch NCHW, torch channels_last); medians over --reps rounds
// after two warm-up rounds.
// --formats adds columns for the forced 'nhwc' and 'blocked' conv formats.
// --format-grid times only those two, one thread, on the convolutions of NAS-Bench-201 networks
// (channels 3..64, 32x32 to 8x8, 1x1 and 3x3, stride 2): the data behind the fixed 'auto' rule
// of addon/README.md, "Formats". Minimum of --reps, ours only.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const REPS = Number(opt('--reps', '7'));
const THREADS = opt('--threads', '1,2').split(',').map(Number);
const WITH_TORCH = !argv.includes('--no-torch');
const FORMATS = argv.includes('--formats');
// median (default) or min: the minimum is robust against other busy processes.
const STAT = opt('--stat', 'median');
// Pause (ms) before each timed call: OpenMP worker threads of the process that
// ran last keep spin-waiting for a few ms and would steal a core from the other
// side (ours vs PyTorch) at 2 threads on 2 cores.
const GAP_MS = Number(opt('--gap', '30'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PYTHON = process.env.MFNAS_BENCH_PYTHON ?? '/usr/bin/python3';

let addon;
try {
  addon = createRequire(import.meta.url)(join(here, 'build', 'Release', 'mfnas_native.node'));
} catch (err) {
  console.error(`native addon not available (${err.message.split('\n')[0]}); run: node addon/build.mjs`);
  process.exit(1);
}

// ------------------------------------------------------------------ PyTorch side
const TORCH_SRC = String.raw`
import json, sys, time
import torch
import torch.nn.functional as F
torch.manual_seed(0)
print(json.dumps({"ready": True, "version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
cache = {}
def tensors(job):
    key = json.dumps(job["shape"]) + job["op"].split("_")[0] + str(job.get("cl", False))
    if key in cache: return cache[key]
    if len(cache) > 4: cache.clear()
    s = job["shape"]
    mf = torch.channels_last if job.get("cl") else torch.contiguous_format
    if job["op"].startswith("conv"):
        n, h, w, ci, co, k, st, p = s
        x = torch.randn(n, ci, h, w).contiguous(memory_format=mf)
        wt = torch.randn(co, ci, k, k).contiguous(memory_format=mf)
        y = F.conv2d(x, wt, None, st, p)
        dy = torch.randn_like(y).contiguous(memory_format=mf)
        t = (x, wt, dy)
    else:
        n, h, w, c = s
        x = torch.randn(n, c, h, w).contiguous(memory_format=mf)
        t = (x, torch.randn_like(x).contiguous(memory_format=mf), torch.ones(c), torch.zeros(c))
    cache[key] = t
    return t
def make(job):
    op = job["op"]; t = tensors(job)
    if op.startswith("conv"):
        x, wt, dy = t; n, h, w, ci, co, k, st, p = job["shape"]
        if op == "conv_fwd": return lambda: F.conv2d(x, wt, None, st, p)
        mask = [True, False, False] if op == "conv_bwd_data" else [False, True, False]
        return lambda: torch.ops.aten.convolution_backward(dy, x, wt, None, [st, st], [p, p], [1, 1], False, [0, 0], 1, mask)
    x, dy, g, b = t
    if op == "bn_fwd": return lambda: torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.1, 1e-5)
    if op == "bn_bwd":
        _, sm, si = torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.1, 1e-5)
        return lambda: torch.ops.aten.native_batch_norm_backward(dy, x, g, None, None, sm, si, True, 1e-5, [True, True, True])
    if op == "pool_fwd": return lambda: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    if op == "pool_bwd":
        out = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return lambda: torch.ops.aten.avg_pool2d_backward(torch.ones_like(out), x, [3, 3], [1, 1], [1, 1], False, False, None)
    if op == "relu_fwd": return lambda: torch.relu(x)
    if op == "relu_bwd": return lambda: torch.ops.aten.threshold_backward(dy, x, 0)
    raise ValueError(op)
fns = {}
with torch.no_grad():
    for line in sys.stdin:
        job = json.loads(line)
        if torch.get_num_threads() != job["threads"]:
            torch.set_num_threads(job["threads"])  # only on change: it may rebuild the thread pool
        key = json.dumps(job)
        if key not in fns:
            if len(fns) > 8: fns.clear()
            fns[key] = make(job)
            fns[key](); fns[key]()  # warm-up
        f = fns[key]
        t0 = time.perf_counter(); f(); dt = time.perf_counter() - t0
        print(json.dumps({"time": dt}), flush=True)
`;

async function startTorch() {
  if (!WITH_TORCH) return null;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(`(PyTorch not available via ${PYTHON}: ${probe.stderr?.trim().split('\n').pop() ?? probe.error?.message}; ours only)`);
    return null;
  }
  const proc = spawn(PYTHON, ['-c', TORCH_SRC], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value);
  const hello = await next();
  return {
    version: hello.version,
    run: async (job) => {
      proc.stdin.write(`${JSON.stringify(job)}\n`);
      return (await next()).time;
    },
    close: () => proc.stdin.end(),
  };
}

// ------------------------------------------------------------------ our side
function rand(len) {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function med(ts) {
  if (!ts || ts.length === 0) return undefined;
  const s = [...ts].sort((a, b) => a - b);
  return STAT === 'min' ? s[0] : s[s.length >> 1];
}

function convJob(op, [n, h, w, ci, co, k, st, p]) {
  const oh = Math.floor((h + 2 * p - k) / st) + 1, ow = Math.floor((w + 2 * p - k) / st) + 1;
  const x = rand(n * h * w * ci), f = rand(k * k * ci * co), dy = rand(n * oh * ow * co);
  const y = new Float32Array(dy.length), dx = new Float32Array(x.length), df = new Float32Array(f.length);
  const dims = [n, h, w, ci, co, k, k, st, st, p, p, p, p];
  const fn = {
    conv_fwd: () => addon.conv2d(x, f, y, ...dims),
    conv_bwd_data: () => addon.conv2dBackwardData(dy, f, dx, ...dims),
    conv_bwd_filter: () => addon.conv2dBackwardFilter(x, dy, df, ...dims),
  }[op];
  return { fn, flops: 2 * n * oh * ow * co * ci * k * k };
}

function otherJob(op, [n, h, w, c]) {
  const len = n * h * w * c;
  const x = rand(len), dy = rand(len), y = new Float32Array(len), dx = new Float32Array(len);
  const g = new Float32Array(c).fill(1), b = new Float32Array(c), mean = new Float32Array(c), v = new Float32Array(c);
  const dg = new Float32Array(c), db = new Float32Array(c);
  addon.batchNorm(x, g, b, y, mean, v, n, h, w, c, 1e-5);
  const fn = {
    bn_fwd: () => addon.batchNorm(x, g, b, y, mean, v, n, h, w, c, 1e-5),
    bn_bwd: () => addon.batchNormBackward(x, dy, g, mean, v, dx, dg, db, n, h, w, c, 1e-5),
    pool_fwd: () => addon.avgPool(x, y, n, h, w, c, 3, 3, 1, 1, 1, 1, 1, 1, true),
    pool_bwd: () => addon.avgPoolBackward(dy, dx, n, h, w, c, 3, 3, 1, 1, 1, 1, 1, 1, true),
    relu_fwd: () => addon.relu(x, y),
    relu_bwd: () => addon.reluBackward(x, dy, dx),
  }[op];
  return { fn, flops: 0 };
}

// ------------------------------------------------------------------ run
const CONV_SHAPES = [
  // [n, h, w, ci, co, k, stride, pad]
  [128, 32, 32, 16, 16, 3, 1, 1],
  [128, 8, 8, 64, 64, 3, 1, 1],
];
const CONV_OPS = ['conv_fwd', 'conv_bwd_data', 'conv_bwd_filter'];
const OTHER_SHAPES = [[128, 32, 32, 16], [128, 8, 8, 64]];
const OTHER_OPS = ['bn_fwd', 'bn_bwd', 'pool_fwd', 'pool_bwd', 'relu_fwd', 'relu_bwd'];
const FMT = { nhwc: 0, blocked: 1, auto: 2 };

if (argv.includes('--format-grid')) {
  addon.setThreads(1);
  const shapes = [];
  for (const hw of [32, 16, 8]) {
    for (const c of [8, 16, 24, 32, 48, 64]) for (const k of [1, 3]) shapes.push([64, hw, hw, c, c, k, 1, k >> 1]);
    if (hw > 8) for (const c of [8, 16, 32]) shapes.push([64, hw, hw, c, 2 * c, 3, 2, 1]);
  }
  for (const c of [16, 32, 64]) for (const hw of [32, 16]) shapes.push([64, hw, hw, 3, c, 3, 1, 1]);
  const rows = [];
  for (const shape of shapes) {
    const row = [`[${shape.slice(0, 4).join(',')}]->${shape[4]} k${shape[5]} s${shape[6]}`];
    for (const op of CONV_OPS) {
      const { fn } = convJob(op, shape);
      const best = [Infinity, Infinity];
      for (let r = 0; r < REPS + 1; r++)
        for (const mode of [FMT.nhwc, FMT.blocked]) {
          addon.setConvFormat(mode);
          const t = time(fn);
          if (r > 0) best[mode] = Math.min(best[mode], t);
        }
      addon.setConvFormat(FMT.auto);
      fn();
      row.push(`${(best[0] * 1e3).toFixed(2)} / ${(best[1] * 1e3).toFixed(2)} (${(best[1] / best[0]).toFixed(2)})`);
    }
    rows.push(row);
    console.error(row.join(' | '));
  }
  console.log(`| shape, batch 64 | ${CONV_OPS.map((o) => `${o} ms nhwc / blocked (ratio)`).join(' | ')} |`);
  console.log(`| --- | ${CONV_OPS.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nLoad average ${loadavg().map((l) => l.toFixed(2)).join(' ')}. Formats of the 'auto' rule:`);
  console.log(addon.describeCache().split('\n').filter((l) => /^conv\d\/m2:/.test(l)).sort().join('\n'));
  process.exit(0);
}

const torch = await startTorch();
const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).stdout.trim();
console.log(`oneDNN ${addon.dnnlVersion} (ours, NHWC/HWIO)${torch ? ` vs PyTorch ${torch.version} (NCHW and channels_last)` : ''}; ${cpu}; ${STAT} of ${REPS} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const fmtCols = FORMATS ? ['nhwc', 'blocked', 'auto'] : ['auto'];
const header = ['op', 'shape (NHWC -> Co)', 'thr', ...fmtCols.map((f) => `ours ${f}`), ...(torch ? ['torch NCHW', 'torch CL', 'torch best / ours'] : [])];
const rows = [];
const gf = (flops, t) => (flops ? `${(flops / t / 1e9).toFixed(1)} GF/s` : `${(t * 1e3).toFixed(2)} ms`);

for (const threads of THREADS) {
  addon.setThreads(threads);
  const jobs = [
    ...CONV_SHAPES.flatMap((s) => CONV_OPS.map((op) => ({ op, shape: s, conv: true }))),
    ...OTHER_SHAPES.flatMap((s) => OTHER_OPS.map((op) => ({ op, shape: s, conv: false }))),
  ];
  for (const job of jobs) {
    const { fn, flops } = job.conv ? convJob(job.op, job.shape) : otherJob(job.op, job.shape);
    // One repetition of every variant per round, so ours and PyTorch see the same load.
    const variants = (job.conv ? fmtCols : ['auto']).map((f) => ({
      name: f,
      run: async () => {
        addon.setConvFormat(FMT[f]);
        return time(fn);
      },
    }));
    if (torch) {
      for (const cl of [false, true]) {
        const tj = { op: job.op, shape: job.shape, threads, cl };
        variants.push({ name: cl ? 'torchCL' : 'torch', run: () => torch.run(tj) });
      }
    }
    const times = Object.fromEntries(variants.map((v) => [v.name, []]));
    for (let r = 0; r < REPS + 2; r++)
      for (const v of variants) {
        if (GAP_MS > 0) await sleep(GAP_MS);
        const t = await v.run();
        if (r >= 2) times[v.name].push(t); // two warm-up rounds
      }
    addon.setConvFormat(FMT.auto);
    const ours = Object.fromEntries(fmtCols.map((f) => [f, med(times[f])]));
    const tn = torch ? med(times.torch) : 0, tc = torch ? med(times.torchCL) : 0;
    const shape = job.conv ? `[${job.shape.slice(0, 4).join(',')}]->${job.shape[4]}` : `[${job.shape.join(',')}]`;
    const oursCols = fmtCols.map((f) => (ours[f] === undefined ? '' : gf(flops, ours[f])));
    const row = [job.op, shape, String(threads), ...oursCols];
    if (torch) row.push(gf(flops, tn), gf(flops, tc), `${(Math.min(tn, tc) / ours.auto).toFixed(2)}x`);
    rows.push(row);
    console.log(`| ${row.join(' | ')} |`);
  }
}
torch?.close();

console.log('\n| ' + header.join(' | ') + ' |');
console.log('| ' + header.map(() => '---').join(' | ') + ' |');
for (const r of rows) console.log('| ' + r.join(' | ') + ' |');
console.log(`\n"torch best / ours" > 1 means ours is faster. Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}. Formats of the 'auto' rule:`);
console.log(addon.describeCache().split('\n').filter((l) => /^conv\d\/m2:/.test(l)).sort().join('\n'));

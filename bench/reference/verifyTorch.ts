/**
 * npm run verify:torch — an independent end-to-end cross-check of mfnas's networks, gradients
 * and gradient proxies against PyTorch. A developer tool, not a CI test (CI has no torch).
 *
 * For a handful of TSS, SSS and NAS-Bench-Macro architectures on CIFAR-10-shaped input:
 *  1. mfnas builds the spec, initialises the weights (`initNetwork(spec, seed)`), draws the proxy
 *     batches (`createProxyContext`: CIFAR-10 train with the training transform; synthetic N(0,1)
 *     images if the data is absent) and runs the proxies' gradient pass (`lossAndGrads`,
 *     skipDead on, as `gradientRecords` does), recording the input of every ReLU it applies;
 *  2. weights, batches and those ReLU inputs go to a temp folder (float32/int32 little-endian +
 *     manifest.json);
 *  3. bench/reference/verify_torch.py builds the same network in PyTorch from the architecture
 *     string alone (MFNAS.md §1; it runs the full network, dead edges included; macro networks
 *     are bench/reference/macro_torch.py's, the depthwise convs nn.Conv2d with groups = C), maps
 *     mfnas's layer names onto its modules, loads the weights (HWIO [k, k, cin/groups, cout] →
 *     OIHW; a depthwise filter is [k, k, 1, C] → [C, 1, k, k]) and runs forward (train mode) +
 *     cross-entropy + backward per batch three times: float32, float64, and float64 with mfnas's
 *     ReLU branch decisions ("ref", see below; every ReLU input mfnas records is labelled with
 *     the PyTorch module it matches, see reluLabels); and
 *     computes intgrad_param / intgrad_mean / ZiCo from each run's gradients with its own numpy
 *     implementation of MFNAS.md §3;
 *  4. here we compare parameter counts, ReLU inputs, losses, every conv/linear weight gradient
 *     and the proxy scores (mfnas's through `evaluateProxies`).
 *
 * Why "ref" (float64 with mfnas's ReLU branches): ReLU is the network's only kink. A
 * pre-activation within rounding noise of 0 can be positive in one float32 computation and not in
 * another; the gradient of every earlier layer then changes by that element's upstream gradient,
 * i.e. by up to tens of percent of a layer's largest entry — with no bug anywhere (PyTorch's own
 * float32 run does this against its float64 run on the "typical" cell). So the strict
 * comparison is against float64 taking the same branches as mfnas, and the branch differences
 * between mfnas and plain float64 are counted with their distance from the kink (which is
 * necessarily within that tensor's float32 error, checked below).
 *
 * Tolerances. mfnas computes in float32 (unit roundoff u = 6e-8); the reference is exact to
 * ~1e-15. How much float32 rounding grows depends on the network: ~1e-6 of a tensor's largest
 * value after the 17 blocks of most cells, but ~1e-4 for the all-conv cell (no identity path:
 * the error grows ~1.3x per cell, and PyTorch float32 shows the same growth). So each tolerance
 * is a floor or 10x the error of PyTorch's own float32 run on the same quantity, whichever is
 * larger ("float32 tolerance" measured by an independent float32 implementation):
 *  - ReLU inputs (every activation mfnas feeds to a ReLU): max|v − v64| / max|v64| per tensor
 *    ≤ max(1e-5, 10 × PyTorch float32's error on that tensor).
 *  - loss: relative error ≤ max(1e-5, 10 × PyTorch float32's); observed ~1e-7.
 *  - gradients: per layer and batch, max|g − g_ref| / max|g_ref| ≤ max(1e-4, 10 × c), c = PyTorch
 *    float32's largest ReLU-input error in that network (its forward conditioning; PyTorch's own
 *    float32 gradients cannot serve as the scale, their ReLU flips move them by up to 1e-1).
 *    Dead layers must be exactly 0 on every side (mfnas skips them; PyTorch computes them and
 *    gets exact zeros).
 *  - proxy implementation on identical inputs (mfnas's intgrad/ZiCo code fed PyTorch's float32
 *    gradients, and its float64 and "ref" gradients rounded to float32, vs numpy on the same
 *    values): relative error ≤ 1e-9 (both accumulate in float64). The proxy code takes float32
 *    arrays (intgrad's histogram reads their bits), so float64 gradients are never passed to it.
 *  - evaluateProxies vs mfnas's proxy code on the gradients recorded here: identical (≤ 1e-12);
 *    this checks evaluateProxies's wiring (init seed, batches, layer list, skipDead).
 *  - proxy end to end (evaluateProxies vs numpy on ref's gradients): within
 *    max(1e-6, 2 × B), B = first-order bound of the score change caused by the observed
 *    per-entry gradient differences δ: each ratio r = m/(s + ε) moves by ≤ δ/(s+ε) + m·δ/(s+ε)²,
 *    and a layer's log(t + 1) by ≤ Σ|Δr|/(t + 1). Where the two batches nearly agree s is tiny
 *    and the ratio is ill-conditioned; ZiCo (no +1e-5) is the most sensitive.
 *    intgrad also has hard thresholds: an entry whose |g| (bin selection) or |mean g| (kept set)
 *    lies within float32 noise of a bin edge can fall on the other side. Such crossings are
 *    counted and listed; a score difference they fully explain (mfnas's gradients scored with
 *    ref's bin and kept set agree within the bound) is "EDGE", reported but failing only with
 *    --strict. ZiCo's s ≠ 0 filter is such a threshold too (entries with s = 0 on one side only are
 *    counted; a ZiCo difference beyond the bound with such entries is "EDGE (s=0)").
 *
 * Flags: --batch-size 16 --batches 2 --seed 0 (init) --data-seed 0 --only <label,...> --keep --strict
 * The engine follows MFNAS_ENGINE (auto|wasm|node|cpu). PyTorch uses VERIFY_TORCH_THREADS (1).
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openNatsBenchTables } from '../../src/natsbench/tables.js';
import { loadMacroTable, macroTablePath } from '../../src/natsbench/macroTable.js';
import type { Batch } from '../../src/datasets/batches.js';
import { resolveDataDir } from '../../src/datasets/dataDir.js';
import { datasetInfo } from '../../src/datasets/registry.js';
import { activeBackend, initEngine } from '../../src/engine/backend.js';
import { countParams, gradientParamNames, initNetwork, type BlockSpec, type CellSpec, type NetworkSpec } from '../../src/networks/index.js';
import { buildNetworkSpec } from '../../src/spaces/network.js';
import { lossAndGrads, toTensorParams } from '../../src/networks/model.js';
import { createProxyContext } from '../../src/proxies/context.js';
import { evaluateProxies } from '../../src/proxies/scoreNetwork.js';
import { batchMoments, isAllZero, paramBlocks, type LayerGradients } from '../../src/proxies/gradients.js';
import { binOf, EMPTY_SCORE, INTGRAD_BIN_EDGES, INTGRAD_STD_EPS, intgradScores, selectBin } from '../../src/proxies/intgrad.js';
import { zicoScore } from '../../src/proxies/definitions/zico.js';
import { Rng } from '../../src/util/rng.js';
import { ALL_CONV, printTable, TORCH_PYTHON, torchAvailable, TYPICAL } from '../common.js';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: '16' },
    batches: { type: 'string', default: '2' },
    seed: { type: 'string', default: '0' },
    'data-seed': { type: 'string', default: '0' },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
  },
});
const batchSize = Number(values['batch-size']);
const nBatches = Number(values.batches);
const initSeed = Number(values.seed);
const dataSeed = Number(values['data-seed']);

const TOL = { reluFloor: 1e-5, lossFloor: 1e-5, gradFloor: 1e-4, factor: 10, proxyImpl: 1e-9, wiring: 1e-12, proxyFloor: 1e-6 };
const DATASET = 'cifar10' as const;
/** NATS-Bench TSS index 0, used when the table is not available. */
const TSS_INDEX0 = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|';
const PROXY_KEYS = ['intgrad_param', 'intgrad_mean', 'zico'] as const;
type ProxyKey = (typeof PROXY_KEYS)[number];
type Scores = Record<ProxyKey, number>;

// ---------------------------------------------------------------------------------------------
// Setup: engine, data, architectures

if (!torchAvailable()) {
  console.error(`verify:torch needs PyTorch in ${TORCH_PYTHON} (apt-get install python3-torch)`);
  process.exit(2);
}
await initEngine();
const dataDir = resolveDataDir();
const tssTable = dataDir ? safe(() => openNatsBenchTables(dataDir).tss) : null;
const sssTable = dataDir ? safe(() => openNatsBenchTables(dataDir).sss) : null;
const macroTable = dataDir ? safe(() => loadMacroTable(macroTablePath(dataDir))) : null;

interface ArchCase { label: string; space: 'tss' | 'sss' | 'macro'; arch: string; tableParams: number | null }
const ARCHS: ArchCase[] = [
  { label: 'typical', space: 'tss', arch: TYPICAL, tableParams: null },
  { label: 'all-conv', space: 'tss', arch: ALL_CONV, tableParams: null },
  { label: 'tss#0', space: 'tss', arch: tssTable ? tssTable.archString(0) : TSS_INDEX0, tableParams: null },
  // avg_pool on three edges (one pooling a pooled node), `none` edges and a dead conv (edge 0
  // feeds node 1, which reaches the output only through `none`).
  { label: 'pool+none', space: 'tss', arch: '|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|', tableParams: null },
  { label: '8:16:24:32:40', space: 'sss', arch: '8:16:24:32:40', tableParams: null },
  { label: '64:8:64:8:64', space: 'sss', arch: '64:8:64:8:64', tableParams: null },
  // NAS-Bench-Macro: the table's best (k5 e6 everywhere but one k3 e3 and a trailing identity);
  // identities both stage-first (1×1 conv stride 2 + BN) and inside stages (no-ops); a mix with
  // shortcuts in every stage.
  { label: 'macro-22212220', space: 'macro', arch: '22212220', tableParams: null },
  { label: 'macro-20010010', space: 'macro', arch: '20010010', tableParams: null },
  { label: 'macro-12101201', space: 'macro', arch: '12101201', tableParams: null },
];
for (const a of ARCHS) {
  if (a.space === 'tss' && tssTable) {
    const i = tssTable.indexOfArch(a.arch);
    a.tableParams = i === undefined ? null : tssTable.params(DATASET, i);
  } else if (a.space === 'sss' && sssTable) {
    const index = a.arch.split(':').reduce((s, c) => s * 8 + (Number(c) / 8 - 1), 0);
    a.tableParams = sssTable.params(DATASET, index);
  } else if (a.space === 'macro' && macroTable) {
    a.tableParams = macroTable.params(DATASET, [...a.arch].reduce((s, c) => s * 3 + Number(c), 0));
  }
}
const selected = values.only ? ARCHS.filter((a) => values.only!.split(',').includes(a.label)) : ARCHS;
if (selected.length === 0) {
  console.error(`--only matches none of ${ARCHS.map((a) => a.label).join(', ')}`);
  process.exit(2);
}

let batches: readonly Batch[];
let dataNote: string;
try {
  const ctx = createProxyContext({ space: 'tss', dataset: DATASET, dataDir, batchSize, batches: nBatches, dataSeed, initSeed });
  batches = ctx.batches;
  dataNote = `CIFAR-10 train, ${nBatches} x ${batchSize} (data seed ${dataSeed}, training transform)`;
} catch (e) {
  const rng = new Rng(dataSeed);
  const res = datasetInfo(DATASET).resolution;
  batches = Array.from({ length: nBatches }, () => ({
    x: Float32Array.from({ length: batchSize * res * res * 3 }, () => rng.normal()),
    labels: Int32Array.from({ length: batchSize }, () => rng.int(10)),
    n: batchSize, height: res, width: res, indices: new Int32Array(batchSize),
  }));
  dataNote = `synthetic N(0,1) images, ${nBatches} x ${batchSize} (CIFAR-10 not available: ${(e as Error).message})`;
}
console.log(`verify:torch — mfnas engine ${activeBackend()}, init seed ${initSeed}; data: ${dataNote}`);

const root = mkdtempSync(path.join(os.tmpdir(), 'mfnas-verify-torch-'));
const script = fileURLToPath(new URL('./verify_torch.py', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Per architecture: mfnas pass, PyTorch reference, comparison

interface PyEntry { name: string; shape: number[]; offset: number; size: number }
interface PyScores extends Scores { bin: number; lo: number; hi: number; binSums: number[] }
interface ReluRow { batch: number; label: string; err?: number; err32?: number; flips?: number; flipMaxAbs?: number; missing?: boolean; shapeMismatch?: number[][] }
interface PyResult {
  torch: string; params: number;
  loss32: number[]; loss64: number[]; loss64m: number[];
  grads32: PyEntry[]; grads64: PyEntry[]; grads64m: PyEntry[];
  scores32: PyScores; scores64: PyScores; scores64m: PyScores;
  /** numpy on the float64 runs' gradients rounded to float32 (the implementation check's input). */
  scores64f32: PyScores; scores64mf32: PyScores;
  reluReport: ReluRow[]; reluNotCalled: string[];
}

let failures = 0;
let edges = 0;
const findings: string[] = [];
const notes: string[] = [];
const netRows: string[][] = [];
const proxyRows: string[][] = [];
let torchVersion = '';

for (const [k, a] of selected.entries()) {
  const dir = path.join(root, `arch${k}`);
  mkdirSync(dir);
  const fail = (what: string) => { failures++; findings.push(`${a.label}: ${what}`); };
  const note = (what: string) => notes.push(`${a.label}: ${what}`);

  // --- mfnas
  const spec = buildNetworkSpec(a.space, a.arch, DATASET);
  const init = initNetwork(spec, initSeed);
  const tensors: Array<{ name: string; shape: readonly number[]; offset: number }> = [];
  let total = 0;
  for (const [name, p] of init) { tensors.push({ name, shape: p.shape, offset: total }); total += p.data.length; }
  const blob = new Float32Array(total);
  for (const t of tensors) blob.set(init.get(t.name)!.data, t.offset);
  writeFileSync(path.join(dir, 'weights.bin'), bytes(blob));

  const t0 = performance.now();
  const labels = reluLabels(spec);
  const reluChunks: Float32Array[] = [];
  const relus: Array<{ batch: number; label: string; shape: number[]; offset: number }> = [];
  let reluOffset = 0;
  const tp = toTensorParams(init);
  const names = gradientParamNames(spec);
  const losses: number[] = [];
  const perBatch = new Map<string, Float32Array[]>(names.map((n) => [n, []]));
  for (const [bi, b] of batches.entries()) {
    const x = tf.tensor4d(b.x, [b.n, b.height, b.width, 3]);
    const seen = new Map<tf.Tensor, number>();
    let call = 0;
    // The pass of gradientRecords (src/proxies/passes.ts), plus a look at every ReLU input.
    const r = lossAndGrads(spec, tp, x, b.labels, names, {
      skipDead: true,
      onRelu: (pre) => {
        const label = labels[call++] ?? `unexpected#${call}`;
        let offset = seen.get(pre);
        if (offset === undefined) {
          const v = Float32Array.from(pre.dataSync() as Float32Array);
          offset = reluOffset;
          seen.set(pre, offset);
          reluChunks.push(v);
          reluOffset += v.length;
        }
        relus.push({ batch: bi, label, shape: pre.shape.slice(), offset });
      },
    });
    x.dispose();
    if (call !== labels.length) fail(`mfnas applied ${call} ReLUs on batch ${bi}, the spec walk expects ${labels.length}`);
    losses.push(r.loss);
    for (const n of names) perBatch.get(n)!.push(r.grads.get(n)!);
  }
  tf.dispose([...tp.values()]);
  const blocks = paramBlocks(spec);
  const records: LayerGradients[] = names.map((name) => ({ name, block: blocks.get(name) ?? null, perBatch: perBatch.get(name)! }));
  const s = evaluateProxies(spec, batches, ['intgrad_param', 'intgrad_mean', 'zico', 'params'], { initSeed });
  const mfnas: Scores = { intgrad_param: s.intgrad_param!, intgrad_mean: s.intgrad_mean!, zico: s.zico! };
  const seconds = (performance.now() - t0) / 1000;

  const reluBlob = new Float32Array(reluOffset);
  { let o = 0; for (const c of reluChunks) { reluBlob.set(c, o); o += c.length; } }
  writeFileSync(path.join(dir, 'relus.bin'), bytes(reluBlob));
  const manifest = {
    batches: batches.map((b, i) => {
      writeFileSync(path.join(dir, `batch${i}.x.bin`), bytes(b.x));
      writeFileSync(path.join(dir, `batch${i}.labels.bin`), bytes(b.labels));
      return { file: `batch${i}.x.bin`, labelsFile: `batch${i}.labels.bin`, n: b.n, h: b.height, w: b.width };
    }),
    arch: { space: a.space, arch: a.arch, classes: spec.classes, weightsFile: 'weights.bin', tensors },
    relusFile: 'relus.bin',
    relus,
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));

  // --- PyTorch
  const t1 = performance.now();
  const py = spawnSync(TORCH_PYTHON, [script, dir], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  const pySeconds = (performance.now() - t1) / 1000;
  if (py.status !== 0 || !existsSync(path.join(dir, 'result.json'))) {
    process.stderr.write(py.stderr ?? '');
    fail(`verify_torch.py failed (exit ${py.status}); inputs in ${dir}`);
    values.keep = true;
    continue;
  }
  const p = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as PyResult;
  torchVersion = p.torch;
  const t32 = readRecords(path.join(dir, 'grads32.bin'), p.grads32, false, blocks);
  const t64 = readRecords(path.join(dir, 'grads64.bin'), p.grads64, true, blocks);
  const ref = readRecords(path.join(dir, 'grads64m.bin'), p.grads64m, true, blocks);
  console.error(`  ${a.label}: mfnas ${seconds.toFixed(1)} s, PyTorch ${pySeconds.toFixed(1)} s`);

  // parameter counts
  const counts: Array<[string, number | null]> = [['countParams', countParams(spec)], ['initNetwork', total],
    ['params proxy', s.params!], ['torch', p.params], ['NATS-Bench table', a.tableParams]];
  const present = counts.filter(([, c]) => c !== null);
  if (!present.every(([, c]) => c === present[0][1])) fail(`parameter counts differ: ${present.map(([w, c]) => `${w} ${c}`).join(', ')}`);

  // ReLU inputs: values, and branch differences with their distance from the kink
  let reluErr = 0, reluErr32 = 0, flips = 0, flipTensors = 0, flipFar = 0;
  for (const r of p.reluReport) {
    if (r.missing) { fail(`ReLU ${r.label} (batch ${r.batch}) has no PyTorch counterpart`); continue; }
    if (r.shapeMismatch) { fail(`ReLU ${r.label} shape: torch ${r.shapeMismatch[0]} vs mfnas ${r.shapeMismatch[1]} (NCHW)`); continue; }
    const tol = Math.max(TOL.reluFloor, TOL.factor * r.err32!);
    reluErr = Math.max(reluErr, r.err!);
    reluErr32 = Math.max(reluErr32, r.err32!);
    if (!(r.err! <= tol)) fail(`ReLU input ${r.label} batch ${r.batch}: max|v − v64| / max|v64| = ${e2(r.err!)} > ${e2(tol)} (PyTorch float32: ${e2(r.err32!)})`);
    if (r.flips) { flips += r.flips; flipTensors++; flipFar = Math.max(flipFar, r.flipMaxAbs!); }
  }
  if (flips) {
    note(`${flips} ReLU input element(s) in ${flipTensors} tensor(s) (over ${nBatches} batches) are on the other side of 0 than in float64, ` +
      `all within |v64| ≤ ${flipFar.toExponential(1)} × max|v64| of the kink (float32 noise); "ref" takes mfnas's branches there`);
  }

  // losses
  const lossErr = maxOf(losses.map((l, b) => Math.abs(l - p.loss64m[b]) / Math.abs(p.loss64m[b])));
  const lossErr32 = maxOf(p.loss32.map((l, b) => Math.abs(l - p.loss64[b]) / Math.abs(p.loss64[b])));
  const lossTol = Math.max(TOL.lossFloor, TOL.factor * lossErr32);
  if (!(lossErr <= lossTol)) fail(`loss rel err ${e2(lossErr)} > ${e2(lossTol)} (mfnas ${losses.join(', ')} vs ref ${p.loss64m.join(', ')})`);
  const gradTol = Math.max(TOL.gradFloor, TOL.factor * reluErr32);

  // gradients, layer by layer
  if (names.join() !== p.grads32.map((e) => e.name).join()) fail(`conv/linear layer lists differ: mfnas ${names.length}, torch ${p.grads32.length}`);
  let worst = { err: 0, name: '-' };
  let worstPlain = 0, worst32 = 0, dead = 0;
  for (const r of records) {
    const r32 = t32.find((t) => t.name === r.name), r64 = t64.find((t) => t.name === r.name), rr = ref.find((t) => t.name === r.name);
    if (!r32 || !r64 || !rr) { fail(`no PyTorch gradient for ${r.name}`); continue; }
    const z = [isAllZero(r), isAllZero(r32), isAllZero(r64), isAllZero(rr)];
    if (z.some(Boolean)) {
      if (z.every(Boolean)) dead++;
      else fail(`${r.name}: identically zero on some sides only (mfnas, torch32, torch64, ref: ${z.join(', ')})`);
      continue;
    }
    for (let b = 0; b < nBatches; b++) {
      const e = relMaxErr(r.perBatch[b], rr.perBatch[b]);
      worstPlain = Math.max(worstPlain, relMaxErr(r.perBatch[b], r64.perBatch[b]));
      worst32 = Math.max(worst32, relMaxErr(r32.perBatch[b], r64.perBatch[b]));
      if (!(e <= worst.err)) worst = { err: e, name: shortName(r.name) };
      if (!(e <= gradTol)) fail(`${r.name} batch ${b}: gradient max|g − g_ref| / max|g_ref| = ${e2(e)} > ${e2(gradTol)}`);
    }
  }
  netRows.push([
    a.label, String(countParams(spec)), String(p.params), a.tableParams != null ? String(a.tableParams) : '-',
    e2(reluErr), e2(reluErr32), String(flips), e2(lossErr), e2(lossErr32),
    e2(worst.err), e2(gradTol), worst.name, e2(worstPlain), e2(worst32), `${dead}/${names.length}`,
  ]);

  // proxies
  // (1) implementation on identical inputs: mfnas's code on PyTorch's gradients vs numpy (the
  // float64 ones rounded to float32 on both sides: the proxy code takes Float32Array)
  const implOf = (recs: LayerGradients[]): Scores => ({ ...intgradScores(recs), zico: zicoScore(recs) });
  const impl = [[implOf(t32), p.scores32], [implOf(toFloat32(t64)), p.scores64f32], [implOf(toFloat32(ref)), p.scores64mf32]] as const;
  // (2) evaluateProxies's wiring: the same code on the gradients recorded above
  const ownCode = implOf(records);
  // (3) end to end, with the first-order bound and the threshold crossings
  const liveM = records.filter((l) => l.block !== null && !isAllZero(l));
  const liveRef = ref.filter((l) => l.block !== null && !isAllZero(l));
  const { lo, hi } = p.scores64m;
  const binM = liveM.length ? selectBin(liveM).index : -1;
  const bound = firstOrderBound(records, ref, lo, hi);
  const masked = scoreWithMask(liveM, liveRef, lo, hi);
  const crossings = binCrossings(liveM, liveRef);
  const kept = keptFlips(liveM, liveRef, lo, hi);
  if (binM !== p.scores64m.bin) note(`selected intgrad bin differs — mfnas ${binLabel(binM)}, ref ${binLabel(p.scores64m.bin)} (summed fractions: mfnas ${selectBin(liveM).sums[binM].toFixed(6)} / ${selectBin(liveM).sums[p.scores64m.bin].toFixed(6)}, ref ${p.scores64m.binSums[binM].toFixed(6)} / ${p.scores64m.binSums[p.scores64m.bin].toFixed(6)})`);
  if (crossings.count || kept.count) {
    note(`${crossings.count} gradient entr${crossings.count === 1 ? 'y' : 'ies'} in another |g| bin than ref (bin selection; ` +
      `${crossings.maxShare.toExponential(1)} of a cell's fraction at most)` +
      `; ${kept.count} entr${kept.count === 1 ? 'y' : 'ies'} on the other side of the kept range [${lo}, ${hi}] for |mean g|` +
      (kept.count ? ` (${kept.examples.join('; ')})` : ''));
  }
  if (bound.zicoCrossings) note(`ZiCo: ${bound.zicoCrossings} entr${bound.zicoCrossings === 1 ? 'y has' : 'ies have'} s = 0 on one side only`);

  for (const key of PROXY_KEYS) {
    const m = mfnas[key], r = p.scores64m[key];
    const rel = relErr(m, r);
    const relImpl = maxOf(impl.map(([ts, np]) => relErr(ts[key], np[key])));
    const relWiring = relErr(m, ownCode[key]);
    const tol = Math.max(TOL.proxyFloor, 2 * bound[key] / Math.max(Math.abs(r), EMPTY_SCORE));
    let status = 'ok';
    if (!(relImpl <= TOL.proxyImpl)) {
      status = 'FAIL (impl)';
      fail(`${key}: mfnas's proxy code and numpy disagree on identical gradients (rel ${e2(relImpl)})`);
    } else if (!(relWiring <= TOL.wiring)) {
      status = 'FAIL (wiring)';
      fail(`${key}: evaluateProxies ${m} ≠ mfnas's proxy code on the recorded gradients ${ownCode[key]}`);
    } else if (!(rel <= tol)) {
      const maskedRel = key === 'zico' ? NaN : relErr(masked[key], r);
      const crossed = key === 'zico' ? bound.zicoCrossings > 0 : binM !== p.scores64m.bin || kept.count > 0 || crossings.count > 0;
      const explained = crossed && (key === 'zico' || maskedRel <= tol);
      status = explained ? (key === 'zico' ? 'EDGE (s=0)' : `EDGE (masked ${e2(maskedRel)})`) : 'FAIL';
      if (explained) edges++;
      if (!explained || values.strict) fail(`${key}: mfnas ${m} vs ref ${r} (rel ${e2(rel)} > tolerance ${e2(tol)})${explained ? ' — threshold crossings, see notes' : ''}`);
    }
    proxyRows.push([a.label, key, fmtScore(m), fmtScore(r), e2(rel), e2(tol), fmtScore(p.scores32[key]), e2(relErr(p.scores32[key], p.scores64[key])),
      e2(relImpl), key === 'zico' ? '-' : `${binLabel(binM)}${binM === p.scores64m.bin ? '' : ` ≠ ${binLabel(p.scores64m.bin)}`}`, status]);
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}

console.log(`\nNetworks and gradients (PyTorch ${torchVersion}). Errors are max|x − x_ref| / max|x_ref| per tensor, worst over tensors and batches.\n` +
  `ReLU-in err: every ReLU input of mfnas vs float64, next to PyTorch float32's; flips: of those elements, how many are on the other side of 0.\n` +
  `grad err: mfnas vs "ref" (float64 taking mfnas's ReLU branches), then vs plain float64, and PyTorch float32 vs float64 for scale.\n`);
printTable(['arch', 'params mfnas', 'params torch', 'params table', 'ReLU-in err', 'torch32', 'flips', 'loss err',
  'torch32', 'grad err', 'grad tol', 'worst layer', 'vs plain f64', 'torch32 vs f64', 'dead layers'], netRows);
console.log(`\nProxies — mfnas = evaluateProxies; ref/torch32 = numpy (MFNAS.md §3) on PyTorch's gradients; impl = mfnas's proxy code vs numpy on the same PyTorch gradients\n`);
printTable(['arch', 'proxy', 'mfnas', 'ref', 'rel err', 'tolerance', 'torch32', 'torch32 vs f64', 'impl rel err', 'intgrad bin', 'status'], proxyRows);
console.log(`\nTolerances: ReLU inputs max(${TOL.reluFloor}, ${TOL.factor} × torch32's), loss max(${TOL.lossFloor}, ${TOL.factor} × torch32's), ` +
  `gradients max(${TOL.gradFloor}, ${TOL.factor} × torch32's largest ReLU-input error); proxy implementation ${TOL.proxyImpl}, ` +
  `evaluateProxies vs its own code ${TOL.wiring}, proxy end to end max(${TOL.proxyFloor}, 2 × first-order bound) (header of bench/reference/verifyTorch.ts).`);
if (notes.length) {
  console.log('\nFloat32 threshold effects (reported, not hidden):');
  for (const n of notes) console.log(`  - ${n}`);
}
if (findings.length) {
  console.log('\nDisagreements:');
  const shown = new Map<string, number>();
  for (const f of findings) {
    const arch = f.slice(0, f.indexOf(':'));
    const n = (shown.get(arch) ?? 0) + 1;
    shown.set(arch, n);
    if (n <= 12) console.log(`  - ${f}`);
    else if (n === 13) console.log(`  - ${arch}: ... and ${findings.filter((g) => g.startsWith(`${arch}:`)).length - 12} more`);
  }
}
if (values.keep) console.log(`\nexchange folders kept under ${root}`);
else rmSync(root, { recursive: true, force: true });
console.log(failures
  ? `\nverify:torch: ${failures} disagreement(s)`
  : `\nverify:torch: mfnas agrees with PyTorch on ${selected.length} architecture(s)${edges ? ` (${edges} proxy value(s) moved by bin-edge crossings, see above)` : ''}`);
process.exit(failures ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// helpers

function safe<T>(f: () => T): T | null {
  try { return f(); } catch { return null; }
}

function bytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function maxOf(xs: number[]): number {
  return xs.reduce((m, x) => (x > m || Number.isNaN(x) ? x : m), 0);
}

/**
 * The ReLUs mfnas applies, in the order src/networks/model.ts applies them with skipDead on:
 * the stem's if it has one (macro); per block, cells edge by edge (by target node, then string
 * order) for live edges with a ReLU (nor_conv, avg_pool across a channel change), reductions
 * conv_a then conv_b, inverted residuals after the expand conv then after the depthwise conv
 * (identity layers have none); then the head's (TSS/SSS: the last BN's; macro: the 1×1 conv's).
 * Labels are the PyTorch side's (`stem`, `cells.K.edgeE`, `cells.K.conv_a`,
 * `cells.K.relu_expand`, `cells.K.relu_depthwise`, `lastact` / `head`).
 */
function reluLabels(spec: NetworkSpec): string[] {
  const out: string[] = [];
  if (spec.stem.relu) out.push(spec.stem.name);
  for (const block of spec.blocks) {
    switch (block.kind) {
      case 'reduction':
        out.push(`${block.name}.conv_a`, `${block.name}.conv_b`);
        break;
      case 'inverted_residual':
        out.push(`${block.name}.relu_expand`, `${block.name}.relu_depthwise`);
        break;
      case 'identity_downsample':
        break;
      case 'cell':
        for (let j = 1; j <= 3; j++) {
          (block as CellSpec).edges.forEach((edge, e) => {
            if (edge.to !== j || !edge.live) return;
            const impl = edge.impl;
            if ((impl.kind === 'conv_bn' && impl.relu) || (impl.kind === 'pool' && impl.pre)) out.push(`${block.name}.edge${e}`);
          });
        }
        break;
      default:
        throw new Error(`reluLabels: block kind ${block.kind} is not known here`);
    }
  }
  const head = spec.head as BlockSpec & { relu?: boolean };
  if (head.kind === 'bn_relu' || (head.kind === 'conv_bn' && head.relu)) out.push(head.name);
  else throw new Error(`reluLabels: head kind ${head.kind} is not known here`);
  return out;
}

function readRecords(file: string, entries: PyEntry[], f64: boolean, blocks: ReadonlyMap<string, string>): LayerGradients[] {
  const buf = readFileSync(file);
  const all = f64
    ? new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8)
    : new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return entries.map((e) => ({
    name: e.name, block: blocks.get(e.name) ?? null,
    // LayerGradients is typed Float32Array. Float64 reference gradients keep full precision for
    // this file's own statistics (batchMoments, binOf), which only index them; mfnas's proxy code
    // (intgradScores, selectBin) reads float32 bits and gets toFloat32 copies.
    perBatch: Array.from({ length: nBatches }, (_, b) => all.slice(e.offset + b * e.size, e.offset + (b + 1) * e.size) as unknown as Float32Array),
  }));
}

/** The records with every gradient rounded to float32 (a real Float32Array, as the proxy code expects). */
function toFloat32(recs: readonly LayerGradients[]): LayerGradients[] {
  return recs.map((r) => ({ ...r, perBatch: r.perBatch.map((g) => Float32Array.from(g)) }));
}

function relMaxErr(a: ArrayLike<number>, r: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < r.length; i++) { err = Math.max(err, Math.abs(a[i] - r[i])); scale = Math.max(scale, Math.abs(r[i])); }
  return scale === 0 ? (err === 0 ? 0 : Infinity) : err / scale;
}

function relErr(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(b), EMPTY_SCORE);
}

function e2(x: number): string {
  return Number.isNaN(x) ? '-' : x === 0 ? '0' : x.toExponential(1);
}

function fmtScore(x: number): string {
  return x.toPrecision(9);
}

function shortName(n: string): string {
  return n.replace(/\.weight$/, '');
}

function binLabel(i: number): string {
  return i < 0 ? '-' : `#${i} [${INTGRAD_BIN_EDGES[i]}, ${INTGRAD_BIN_EDGES[i + 1]})`;
}

function byName(list: readonly LayerGradients[]): Map<string, LayerGradients> {
  return new Map(list.map((l) => [l.name, l]));
}

/** Entries (live cell layers, all batches) whose |g| bin differs; and the largest per-cell fraction they shift. */
function binCrossings(a: readonly LayerGradients[], b: readonly LayerGradients[]): { count: number; maxShare: number } {
  const other = byName(b);
  const perBlock = new Map<string, { moved: number; total: number }>();
  let count = 0;
  for (const la of a) {
    const lb = other.get(la.name);
    if (!lb) continue;
    const acc = perBlock.get(la.block!) ?? { moved: 0, total: 0 };
    la.perBatch.forEach((g, k) => {
      for (let i = 0; i < g.length; i++) if (binOf(Math.abs(g[i])) !== binOf(Math.abs(lb.perBatch[k][i]))) { count++; acc.moved++; }
      acc.total += g.length;
    });
    perBlock.set(la.block!, acc);
  }
  let maxShare = 0;
  for (const { moved, total } of perBlock.values()) maxShare = Math.max(maxShare, moved / total);
  return { count, maxShare };
}

/** Entries whose |mean over batches| is kept (lo ≤ m ≤ hi) in one run and not the other. */
function keptFlips(a: readonly LayerGradients[], b: readonly LayerGradients[], lo: number, hi: number): { count: number; examples: string[] } {
  const other = byName(b);
  let count = 0;
  const examples: string[] = [];
  for (const la of a) {
    const lb = other.get(la.name);
    if (!lb) continue;
    const ma = batchMoments(la), mb = batchMoments(lb);
    for (let i = 0; i < ma.absMean.length; i++) {
      const ka = ma.absMean[i] >= lo && ma.absMean[i] <= hi, kb = mb.absMean[i] >= lo && mb.absMean[i] <= hi;
      if (ka === kb) continue;
      count++;
      if (examples.length < 2) {
        examples.push(`e.g. ${shortName(la.name)}[${i}]: m = ${ma.absMean[i].toPrecision(8)} (mfnas) vs ${mb.absMean[i].toPrecision(8)} (ref), m/(s+ε) = ${(mb.absMean[i] / (mb.std[i] + INTGRAD_STD_EPS)).toPrecision(3)}`);
      }
    }
  }
  return { count, examples };
}

/** intgrad of run `a` with the bin [lo, hi] and the kept set of run `b` (isolates the crossings). */
function scoreWithMask(a: readonly LayerGradients[], b: readonly LayerGradients[], lo: number, hi: number): Record<'intgrad_param' | 'intgrad_mean', number> {
  const other = byName(b);
  let param = 0, mean = 0, any = false;
  for (const la of a) {
    const lb = other.get(la.name);
    if (!lb) continue;
    const ma = batchMoments(la), mb = batchMoments(lb);
    let sum = 0, kept = 0;
    for (let i = 0; i < ma.absMean.length; i++) {
      if (mb.absMean[i] < lo || mb.absMean[i] > hi) continue;
      sum += ma.absMean[i] / (ma.std[i] + INTGRAD_STD_EPS);
      kept++;
    }
    if (kept === 0 || sum === 0 || Number.isNaN(sum)) continue;
    param += Math.log(sum + 1); mean += Math.log(sum / kept + 1); any = true;
  }
  return { intgrad_param: any ? param : EMPTY_SCORE, intgrad_mean: any ? mean : EMPTY_SCORE };
}

/**
 * First-order bound of |score(a) − score(ref)| from the per-entry gradient differences
 * δ_i = max over batches |a − ref|: for r = m/(s + ε), |Δr| ≤ δ/(s+ε) + m·δ/(s+ε)², and a layer's
 * log(t + 1) moves by ≤ Σ|Δr|/(t + 1) (intgrad, ref's kept set); ZiCo (a = mean |g| in place of
 * m, moved by at most δ as well): log Σ a/s by Σ|Δr|/Σr.
 */
function firstOrderBound(a: readonly LayerGradients[], refRecs: readonly LayerGradients[], lo: number, hi: number): Scores & { zicoCrossings: number } {
  const other = byName(refRecs);
  let ip = 0, im = 0, zico = 0, zicoCrossings = 0;
  for (const la of a) {
    const lr = other.get(la.name);
    if (!lr || isAllZero(lr)) continue;
    const { absMean: m, meanAbs: a0, std: s } = batchMoments(lr);
    const sa = batchMoments(la).std;
    const delta = new Float64Array(m.length);
    la.perBatch.forEach((g, b) => { for (let i = 0; i < g.length; i++) delta[i] = Math.max(delta[i], Math.abs(g[i] - lr.perBatch[b][i])); });
    let zt = 0, zd = 0;
    let it = 0, id = 0, kept = 0;
    for (let i = 0; i < m.length; i++) {
      if (s[i] !== 0) {
        zt += a0[i] / s[i];
        zd += delta[i] / s[i] + a0[i] * delta[i] / (s[i] * s[i]);
      }
      if ((s[i] === 0) !== (sa[i] === 0)) zicoCrossings++;
      if (la.block !== null && m[i] >= lo && m[i] <= hi) {
        const se = s[i] + INTGRAD_STD_EPS;
        it += m[i] / se;
        id += delta[i] / se + m[i] * delta[i] / (se * se);
        kept++;
      }
    }
    if (zt > 0) zico += zd / zt;
    if (kept > 0) { ip += id / (it + 1); im += (id / kept) / (it / kept + 1); }
  }
  return { intgrad_param: ip, intgrad_mean: im, zico, zicoCrossings };
}

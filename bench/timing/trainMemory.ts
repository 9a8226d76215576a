import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/backend.js';
import { describeArchitecture } from '../../src/report/archInfo.js';
import { openDefaultNatsBenchTables } from '../../src/natsbench/tables.js';
import { buildNetworkSpec } from '../../src/spaces/network.js';
import { initNetwork } from '../../src/networks/init.js';
import { addRunningStats, trainStep } from '../../src/train/step.js';
import { requireDataDir } from '../../src/datasets/dataDir.js';
import { createHash } from 'node:crypto';

const batch = Number(process.argv[2] ?? 64);
const steps = Number(process.argv[3] ?? 1);
const archArg = process.argv[4] ?? '6111';
const info = await initEngine();
if (process.env.LEAN !== '0') {
  const { gradients } = await import('../../src/engine/gradients.js');
  (tf.engine() as any).gradients = (f: any, xs: any, dy: any, a: any) => gradients(f, xs, dy, a);
}
const described = describeArchitecture({ space: 'tss', dataset: 'cifar10', arch: archArg, benchmark: openDefaultNatsBenchTables(requireDataDir({})) } as never);
const spec = buildNetworkSpec('tss', (described as { arch: string }).arch, 'cifar10' as never);
const params = initNetwork(spec, 1);
addRunningStats(spec, params);
// Peak live tensor bytes: sample after every kernel via a wrapped backend write/makeOutput is invasive; use wasm heap size.
const be = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
let x = new Float32Array(batch * 32 * 32 * 3);
let s = 12345;
for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 2 ** 32) * 2 - 1; }
const labels = new Int32Array(batch).map((_, i) => i % 10);
const t0 = Date.now();
let live = 0, peakLive = 0;
const sizes = new Map<number, number>();
const mod = (tf.backend() as any).wasm;
// The emscripten stubs replace themselves on first call: resolve them before wrapping.
mod._free(mod._malloc(16));
const malloc = mod._malloc, free = mod._free;
mod._malloc = (n: number) => { const p = malloc(n); sizes.set(p, n); live += n; if (live > peakLive) peakLive = live; return p; };
mod._free = (p: number) => { live -= sizes.get(p) ?? 0; sizes.delete(p); return free(p); };
const h = createHash('sha256');
for (let k = 0; k < steps; k++) {
  const r = trainStep(spec, params, x, labels);
  h.update(Float32Array.of(r.loss));
  for (const [, g] of r.grads) h.update(g);
}
console.log(JSON.stringify({ arch: (described as any).arch, engine: info.backend, batch, heapMB: Math.round(be.wasm.HEAPU8.length / 2 ** 20), peakLiveMB: Math.round(peakLive / 2 ** 20), perImageMB: +(peakLive / 2 ** 20 / batch).toFixed(2), liveAfterMB: Math.round(tf.memory().numBytes / 2 ** 20), sec: (Date.now() - t0) / 1000, hash: h.digest('hex').slice(0, 16) }));

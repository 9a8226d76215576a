/**
 * Same input, same answer, bit for bit: the same architectures scored in another order, with
 * another number of workers, another number of native threads, or while the machine is busy,
 * give identical scores. Scores are compared through the CSV that `correlate --out` writes:
 * JavaScript prints the shortest string that round-trips a double, so equal text is equal bits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { tryLoadNativeKernels } from '../src/engine/addon/binding.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mfnas-determinism-'));
// 2000 and 100 are the pair whose scores depended on their order with timed format choice.
const ARCHS = [2000, 100, 9930];
const hasNative = tryLoadNativeKernels().kernels !== null;

let runNo = 0;
/** Scores per index, as text, from one whole `mfnas correlate` process. */
async function scoresOf(engine: string, order: number[], workers: number, threads = 1): Promise<Map<number, string>> {
  const out = path.join(tmp, `run-${runNo++}.csv`);
  const r = await runCli([
    'correlate', '--space', 'tss', '--dataset', 'cifar10', '--indices', order.join(','),
    '--batch', '16', '--batches', '2', '--workers', String(workers), '--no-cache',
    '--proxies', 'intgrad_param,intgrad_mean,zico,grad_norm', '--out', out, '--json',
  ], { MFNAS_ENGINE: engine, MFNAS_THREADS: String(threads) });
  expect(r.code, r.stderr).toBe(0);
  const [header, ...lines] = readFileSync(out, 'utf8').trim().split('\n');
  const cols = header.split(',');
  const proxyCols = cols.map((c, i) => [c, i] as const).filter(([c]) => ['intgrad_param', 'intgrad_mean', 'zico', 'grad_norm'].includes(c));
  expect(proxyCols.length).toBe(4);
  const byIndex = new Map<number, string>();
  for (const line of lines) {
    const f = line.split(',');
    byIndex.set(Number(f[cols.indexOf('index')]), proxyCols.map(([, i]) => f[i]).join(','));
  }
  expect([...byIndex.keys()].sort((a, b) => a - b)).toEqual([...order].sort((a, b) => a - b));
  return byIndex;
}

/** A child process that keeps one core busy until killed. */
function cpuBurner(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

describe.each([
  ['native', hasNative],
  ['wasm', true],
])('the %s engine gives identical bits', (engine, available) => {
  let reference: Map<number, string>;
  beforeAll(async () => {
    if (available) reference = await scoresOf(engine, ARCHS, 1);
  });

  it.runIf(available)('in another order', async () => {
    expect(await scoresOf(engine, [...ARCHS].reverse(), 1)).toEqual(reference);
  });

  it.runIf(available)('with two workers', async () => {
    expect(await scoresOf(engine, ARCHS, 2)).toEqual(reference);
  });

  it.runIf(available && engine === 'native')('with two native threads per worker', async () => {
    expect(await scoresOf(engine, [...ARCHS].reverse(), 1, 2)).toEqual(reference);
  });

  it.runIf(available)('while another process burns the CPU', async () => {
    const burners = [cpuBurner(), cpuBurner()];
    try {
      expect(await scoresOf(engine, [ARCHS[1], ARCHS[2], ARCHS[0]], 2, engine === 'native' ? 2 : 1)).toEqual(reference);
    } finally {
      for (const b of burners) b.kill('SIGKILL');
    }
  });
});

describe('engines', () => {
  it('native is tested wherever CI runs (CI installs oneDNN)', () => {
    // Without this, a broken addon build would silently skip the native half above.
    if (process.env.CI) expect(hasNative).toBe(true);
  });
});

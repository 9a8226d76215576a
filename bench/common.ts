/**
 * Shared pieces of the side-by-side benchmarks: timing, the PyTorch reference runner and table
 * printing. Benchmarks report ratios measured in one run, since absolute times drift on shared
 * machines.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TYPICAL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
export const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

export const TORCH_PYTHON = '/usr/bin/python3';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median of `repeats` timed calls after one warm-up, in seconds. */
export async function timeIt(fn: () => unknown | Promise<unknown>, repeats = 3): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

export function torchAvailable(): boolean {
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/** The PyTorch reference network of each space the benchmarks compare with. */
const TORCH_NETWORKS = { tss: 'nb201_torch.py', macro: 'macro_torch.py' } as const;

/** Forward+backward median seconds of the PyTorch reference on one TSS cell or Macro network. */
export function torchGradSeconds(arch: string, batch: number, threads: number, repeats = 3, space: keyof typeof TORCH_NETWORKS = 'tss'): number {
  const script = fileURLToPath(new URL(`./reference/${TORCH_NETWORKS[space]}`, import.meta.url));
  const out = execFileSync(TORCH_PYTHON, [script, '--arch', arch, '--batch', String(batch),
    '--threads', String(threads), '--repeats', String(repeats)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!).median;
}

export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: Array<string | number>) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(cells[0]));
  console.log('| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |');
  for (const r of cells.slice(1)) console.log(line(r));
}

function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

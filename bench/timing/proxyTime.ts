/**
 * Side-by-side proxy time per architecture: the MFNAS proxy (both intgrad fidelities: one
 * forward + backward per batch, 2 x 128 CIFAR-10 images) on mfnas's native and wasm engines
 * and on PyTorch 1.13, same architectures, same thread count, measured in one run.
 */
import { initEngine } from '../../src/engine/backend.js';
import { tryLoadNativeKernels } from '../../src/engine/addon/binding.js';
import type { Batch } from '../../src/datasets/batches.js';
import { buildNetworkSpec } from '../../src/spaces/network.js';
import { evaluateProxies } from '../../src/proxies/scoreNetwork.js';
import { median, printTable, torchAvailable, torchGradSeconds } from '../common.js';

export async function compareProxyTime(archs: readonly string[], batches: readonly Batch[], threads: number): Promise<void> {
  const native = tryLoadNativeKernels();
  const engines = native.kernels ? ['native', 'wasm'] as const : ['wasm'] as const;
  const withTorch = torchAvailable();
  const times: Record<string, number[]> = { native: [], wasm: [], torch: [] };
  for (const arch of archs) {
    for (const engine of engines) {
      await initEngine({ backend: engine });
      if (engine === 'native') native.kernels!.setThreads(threads);
      const spec = buildNetworkSpec('tss', arch, 'cifar10');
      evaluateProxies(spec, batches.slice(0, 1), ['intgrad_param'], { initSeed: 0 }); // warm-up (shapes, primitives)
      const t0 = performance.now();
      evaluateProxies(spec, batches, ['intgrad_param', 'intgrad_mean'], { initSeed: 0 });
      times[engine].push((performance.now() - t0) / 1000);
    }
    if (withTorch) times.torch.push(batches.length * torchGradSeconds(arch, batches[0].n, threads, 1));
    console.error(`    ${arch}: ${engines.map((e) => `${e} ${times[e].at(-1)!.toFixed(2)} s`).join(', ')}${withTorch ? `, PyTorch ${times.torch.at(-1)!.toFixed(2)} s` : ''}`);
  }
  const rows: Array<Array<string | number>> = [];
  const torch = withTorch ? median(times.torch) : NaN;
  for (const e of engines) {
    const m = median(times[e]);
    rows.push([`mfnas ${e}`, e === 'wasm' ? 1 : threads, m, withTorch ? m / torch : '-', e === 'native' && times.wasm.length ? median(times.wasm) / m : '-']);
  }
  if (withTorch) rows.push(['PyTorch 1.13', threads, torch, 1, '-']);
  console.log(`\nProxy time per architecture (intgrad, ${batches.length} x ${batches[0].n} CIFAR-10 images, median over ${archs.length} cells, ${threads} thread(s)):`);
  printTable(['engine', 'threads', 's / architecture', 'ratio to PyTorch', 'wasm / native'], rows);
}

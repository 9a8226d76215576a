/**
 * What mfnas knows about one architecture without running it: index, canonical form, analytic
 * parameter count and FLOPs, and the benchmark's test accuracy when a table is present.
 */
import { openBenchmark, type Benchmark } from '../benchmark/tables.js';
import { DATA_DIR_ENV, requireDataDir, resolveDataDir } from '../datasets/dataDir.js';
import type { DatasetName } from '../datasets/registry.js';
import { countFlops, countParams, sssNetworkSpec, tssNetworkSpec } from '../networks/index.js';
import { parseArchitecture, sssSpace, tssSpace } from '../spaces/index.js';
import type { SpaceName } from '../spaces/types.js';

export interface ArchInfo {
  space: SpaceName;
  dataset: DatasetName;
  /** NATS-Bench index; null for a TSS cell when no benchmark table is available. */
  index: number | null;
  arch: string;
  canonical: string;
  params: number;
  /** Millions of multiply-accumulates per image, as NATS-Bench reports "FLOPs". */
  flops: number;
  /** Benchmark test accuracy in % (200 epochs TSS, 90 SSS); null without a table. */
  accuracy: number | null;
}

/**
 * The benchmark under the resolved data dir, or null when no data dir is found. A directory
 * named explicitly (--data-dir or MFNAS_DATA_DIR) must exist: a typo is an error, not "no table".
 */
export function openDefaultBenchmark(dataDir?: string | null): Benchmark | null {
  const explicit = !!dataDir || !!process.env[DATA_DIR_ENV]?.trim();
  const dir = explicit ? requireDataDir({ dataDir }) : resolveDataDir({ dataDir });
  return dir ? openBenchmark(dir) : null;
}

export function describeArchitecture(opts: {
  space: SpaceName; dataset: DatasetName; arch: string; benchmark?: Benchmark | null;
}): ArchInfo {
  const { space, dataset, benchmark } = opts;
  if (space === 'tss') {
    const table = benchmark?.tss ?? null;
    const s = tssSpace(table);
    const cell = parseArchitecture(s, opts.arch);
    const arch = s.format(cell);
    const index = table ? s.indexOf(cell) : null;
    const spec = tssNetworkSpec(cell, dataset, arch);
    return {
      space, dataset, index, arch, canonical: s.canonical(cell),
      params: countParams(spec), flops: countFlops(spec),
      accuracy: table && index !== null ? table.testAccuracy(dataset, index) : null,
    };
  }
  const s = sssSpace();
  const channels = parseArchitecture(s, opts.arch);
  const arch = s.format(channels);
  const index = s.indexOf(channels);
  const table = benchmark?.sss ?? null;
  const spec = sssNetworkSpec(channels, dataset, arch);
  return {
    space, dataset, index, arch, canonical: s.canonical(channels),
    params: countParams(spec), flops: countFlops(spec),
    accuracy: table ? table.testAccuracy(dataset, index) : null,
  };
}

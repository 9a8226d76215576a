/**
 * What mfnas knows about one architecture without running it: index, canonical form, analytic
 * parameter count and FLOPs, and the benchmark's test accuracy when a table is present.
 */
import type { NatsBenchTables } from '../natsbench/tables.js';
import { builtinName, datasetLabel, type DatasetRef } from '../datasets/registry.js';
import { countFlops, countParams } from '../networks/index.js';
import { parseArchitecture, spaceByName } from '../spaces/index.js';
import type { SpaceDefinition, SpaceName } from '../spaces/types.js';

export interface ArchInfo {
  space: SpaceName;
  /** A NATS-Bench name, or an image folder's absolute path. */
  dataset: string;
  /** NATS-Bench index; null for a TSS cell when no benchmark table is available. */
  index: number | null;
  arch: string;
  canonical: string;
  params: number;
  /** Millions of multiply-accumulates per image, as NATS-Bench reports "FLOPs". */
  flops: number;
  /** Benchmark test accuracy in % (200 epochs TSS, 90 SSS); null without a table or on an image folder. */
  accuracy: number | null;
}

export function describeArchitecture(opts: {
  space: SpaceName; dataset: DatasetRef; arch: string; benchmark?: NatsBenchTables | null;
}): ArchInfo {
  const { space, dataset, benchmark } = opts;
  const definition: SpaceDefinition<unknown> = spaceByName(space).withBenchmark(benchmark);
  const a = parseArchitecture(definition, opts.arch);
  const index = definition.indexed ? definition.indexOf(a) : null;
  // Read after parsing, so a malformed architecture is reported before a damaged accuracy
  // table (TSS has already read its table in withBenchmark: its indices need it).
  const table = definition.table(benchmark);
  const spec = definition.networkSpec(a, dataset);
  const builtin = builtinName(dataset);
  return {
    space, dataset: datasetLabel(dataset), index, arch: definition.format(a), canonical: definition.canonical(a),
    params: countParams(spec), flops: countFlops(spec),
    accuracy: table && builtin !== null && index !== null ? table.testAccuracy(builtin, index) : null,
  };
}

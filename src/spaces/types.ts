/**
 * What every search space provides. A search algorithm sees a space only through
 * `SearchSpace<A>`, so the same evolutionary code runs on cells (TSS) and channel
 * configurations (SSS); the rest of mfnas (scoring, networks, benchmark look-ups, reports) sees
 * it through `SpaceDefinition<A>`, so none of it needs to know which space it is working on.
 * A space is one folder (./tss, ./sss) exporting one `SpaceDefinition`, registered in ./index.ts.
 */
import type { Benchmark } from '../natsbench/tables.js';
import type { DatasetName, DatasetRef } from '../datasets/registry.js';
import type { NetworkSpec } from '../networks/spec.js';
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { SPACES } from './index.js';

/** Name of a registered search space: the keys of `SPACES` ('tss' | 'sss'). */
export type SpaceName = keyof typeof SPACES;

export interface SearchSpace<A> {
  readonly name: SpaceName;
  /** Number of architectures in the space. */
  readonly size: number;
  /** Parse the space's string form; throws InputError on malformed text. */
  parse(text: string): A;
  format(arch: A): string;
  /** NATS-Bench index of an architecture and back. */
  indexOf(arch: A): number;
  fromIndex(index: number): A;
  /** One key per class of functionally identical architectures. */
  canonical(arch: A): string;
  sample(rng: Rng): A;
  /** One random single-position change (MFNAS.md §4). */
  mutate(arch: A, rng: Rng): A;
  /** Uniform crossover: each position from either parent with p = 0.5. */
  crossover(a: A, b: A, rng: Rng): A;
}

/** What every space's benchmark table offers (`TssTable` and `SssTable` both fit). */
export interface BenchTable {
  readonly path: string;
  readonly size: number;
  /** Test accuracy in %; null when the table has no value for it (a partial import). */
  testAccuracy(dataset: DatasetName, index: number): number | null;
  /** The table's parameter count; null when its column is absent. */
  params(dataset: DatasetName, index: number): number | null;
}

/**
 * How a report draws an architecture. Data only: the SVG for each kind is drawn by
 * src/spaces/tss/drawing.ts (cells) or src/spaces/sss/drawing.ts (channels), so a new space that
 * reuses a kind needs no drawing code of its own.
 */
export type ArchDrawing =
  | { readonly kind: 'cell'; readonly edges: ReadonlyArray<{ readonly from: number; readonly to: number; readonly op: string }> }
  | { readonly kind: 'channels'; readonly channels: readonly number[] };

export interface SpaceDefinition<A> extends SearchSpace<A> {
  /** Other names `parseSpaceName` accepts ('topology' for tss). */
  readonly aliases: readonly string[];
  /** Throws InputError unless `arch` is an architecture of this space. */
  validate(arch: A): void;
  /**
   * The member of `arch`'s class that is evaluated in its place, so that every member gets the
   * very same score and a cache holds one entry per class.
   */
  representative(arch: A): A;
  /** Every architecture of the space (for the feasibility pre-check of search limits). */
  enumerate(): Iterable<A>;
  /** The network on `dataset` (a builtin's name or a dataset value; classes and resolution from it). */
  networkSpec(arch: A, dataset: DatasetRef): NetworkSpec;
  drawing(arch: A): ArchDrawing;
  /** The file under `nats-bench/` with this space's benchmark table. */
  readonly tableFile: string;
  /** This space's table in `benchmark`; null without a benchmark or when the file is absent. */
  table(benchmark: Benchmark | null | undefined): BenchTable | null;
  /**
   * Whether `indexOf` / `fromIndex` work. TSS indices are NATS-Bench's row order, so TSS has
   * them only once bound to a benchmark that has its table; SSS indices are arithmetic.
   */
  readonly indexed: boolean;
  /** The same space with the NATS-Bench index order of `benchmark` (see `indexed`). */
  withBenchmark(benchmark: Benchmark | null | undefined): SpaceDefinition<A>;
}

export function checkIndexRange(index: number, size: number, name: SpaceName): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new InputError(`index ${index} is out of range 0..${size - 1} for ${name}`);
  }
}

/**
 * What every search space provides. A search algorithm sees a space only through
 * `SearchSpace<A>`, so the same evolutionary code runs on cells (TSS) and channel
 * configurations (SSS); the rest of mfnas (scoring, networks, benchmark look-ups, reports) sees
 * it through `SpaceDefinition<A>`, so none of it needs to know which space it is working on.
 *
 * A space is one folder (./tss, ./sss) exporting a `SpaceDescription`: the parts every space has
 * (strings, sampling, mutation, crossover, its network) and the optional benchmark parts (an
 * index, a list of all its architectures, classes of identical ones, a drawing). `registerSpace`
 * (./index.ts) completes a description into a `SpaceDefinition`, filling what is absent with the
 * generic behaviour in one place, so callers test `indexed` / `enumerate` instead of the name.
 *
 * Benchmark tables are found by space name through a `BenchmarkTables` (natsbench's `NatsBenchTables`
 * is one): a space knows nothing about the files that hold them.
 */
import type { DatasetName, DatasetRef } from '../datasets/registry.js';
import type { NetworkSpec } from '../networks/spec.js';
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** The spaces mfnas ships, for autocompletion. */
export type BuiltinSpaceName = 'tss' | 'sss';
/** Name of a registered search space: a builtin's or one added with `registerSpace`. */
export type SpaceName = BuiltinSpaceName | (string & {});

export interface SearchSpace<A> {
  readonly name: SpaceName;
  /** Parse the space's string form; throws InputError on malformed text. */
  parse(text: string): A;
  format(arch: A): string;
  /** One key per class of functionally identical architectures. */
  canonical(arch: A): string;
  sample(rng: Rng): A;
  /** One random single-position change (MFNAS.md §4). */
  mutate(arch: A, rng: Rng): A;
  /** Uniform crossover: each position from either parent with p = 0.5. */
  crossover(a: A, b: A, rng: Rng): A;
}

/** What a space's benchmark table offers (`TssTable` and `SssTable` both fit). */
export interface BenchTable {
  readonly path: string;
  readonly size: number;
  /** Test accuracy in %; null when the table has no value for it (a partial import). */
  testAccuracy(dataset: DatasetName, index: number): number | null;
  /** The table's parameter count; null when its column is absent. */
  params(dataset: DatasetName, index: number): number | null;
}

/** Where the benchmark tables of a data folder are found, by space (natsbench's `NatsBenchTables` is one). */
export interface BenchmarkTables {
  /** The table of `space`; null when this data folder has none (or the space has no benchmark). */
  tableOf(space: SpaceName): BenchTable | null;
}

/** The benchmark parts of a space: its architectures numbered 0..size-1 in the table's row order. */
export interface SpaceIndex<A> {
  /** Number of architectures in the space. */
  readonly size: number;
  /**
   * False while the numbering needs a table that was not given (TSS without its table): the
   * space then counts as unindexed and `indexOf` / `fromIndex` throw, saying how to provide it.
   */
  readonly available?: boolean;
  indexOf(arch: A): number;
  fromIndex(index: number): A;
}

/**
 * What a space's folder writes and `registerSpace` takes. Everything marked optional has a
 * generic stand-in (see `SpaceDefinition`).
 */
export interface SpaceDescription<A> extends Omit<SearchSpace<A>, 'canonical'> {
  /** Other names `parseSpaceName` accepts ('topology' for tss). */
  readonly aliases?: readonly string[];
  /** The network on `dataset` (a builtin's name or a dataset value; classes and resolution from it). */
  networkSpec(arch: A, dataset: DatasetRef): NetworkSpec;
  /** Throws InputError unless `arch` is an architecture of this space. Absent: `format` must not throw. */
  validate?(arch: A): void;
  /** Absent: every architecture is its own class (the canonical form is `format`). */
  canonical?(arch: A): string;
  /** The member of `arch`'s class evaluated in its place. Absent: `arch` itself. */
  representative?(arch: A): A;
  /** Every architecture of the space. Absent: a space too large to list (limits then hold while sampling). */
  enumerate?(): Iterable<A>;
  /** Absent: architectures have no numbers (no `scan`, no `--indices`, no benchmark accuracies). */
  readonly index?: SpaceIndex<A>;
  /**
   * The same space with the index order of `tables`, for a space whose numbering is its table's
   * row order (TSS); absent: the index does not depend on a table.
   */
  withBenchmark?(tables: BenchmarkTables | null | undefined): SpaceDescription<A>;
  /** The architecture as an SVG drawing for reports. Absent: reports show its string form only. */
  drawing?(arch: A): string;
  /**
   * The training recipe `mfnas train` uses by default: the one the space's benchmark trained
   * with, by name (src/train/recipe.ts). Absent: 'nats-bench'.
   */
  readonly trainingRecipe?: string;
}

export interface SpaceDefinition<A> extends SearchSpace<A> {
  readonly aliases: readonly string[];
  /** Number of architectures; null when the space has no index. */
  readonly size: number | null;
  validate(arch: A): void;
  /**
   * The member of `arch`'s class that is evaluated in its place, so that every member gets the
   * very same score and a cache holds one entry per class.
   */
  representative(arch: A): A;
  /** Every architecture of the space; null for a space too large to list. */
  readonly enumerate: (() => Iterable<A>) | null;
  networkSpec(arch: A, dataset: DatasetRef): NetworkSpec;
  /** The architecture as an SVG drawing; null when the space has none. */
  readonly drawing: ((arch: A) => string) | null;
  /** Name of the training recipe `train` uses by default (src/train/recipe.ts). */
  readonly trainingRecipe: string;
  /** This space's table in `tables`; null without tables or when the space has none there. */
  table(tables: BenchmarkTables | null | undefined): BenchTable | null;
  /**
   * Whether `indexOf` / `fromIndex` work. TSS indices are NATS-Bench's row order, so TSS has
   * them only once bound to a benchmark that has its table; SSS indices are arithmetic; a space
   * without an index never has them (they throw an InputError saying so).
   */
  readonly indexed: boolean;
  indexOf(arch: A): number;
  fromIndex(index: number): A;
  /** The same space with the index order of `tables` (see `indexed`). */
  withBenchmark(tables: BenchmarkTables | null | undefined): SpaceDefinition<A>;
}

export function checkIndexRange(index: number, size: number, name: SpaceName): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new InputError(`index ${index} is out of range 0..${size - 1} for ${name}`);
  }
}

/**
 * Shared vocabulary of the two NATS-Bench search spaces. A search algorithm sees a space only
 * through `SearchSpace<A>`, so the same evolutionary code runs on cells (TSS) and channel
 * configurations (SSS).
 */
import type { Rng } from '../util/rng.js';

export type SpaceName = 'tss' | 'sss';

/** TSS operations, in NATS-Bench's own order. */
export const TSS_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type TssOp = (typeof TSS_OPS)[number];

/**
 * A TSS cell as its 6 edge ops, in string order:
 * [1←0, 2←0, 2←1, 3←0, 3←1, 3←2]. Edge e goes from node EDGE_FROM[e] to node EDGE_TO[e].
 */
export type TssCell = readonly TssOp[];
export const EDGE_FROM = [0, 0, 1, 0, 1, 2] as const;
export const EDGE_TO = [1, 2, 2, 3, 3, 3] as const;

/** An SSS configuration: 5 channel counts, each in {8, 16, …, 64}. */
export type SssChannels = readonly number[];
export const SSS_CHOICES = [8, 16, 24, 32, 40, 48, 56, 64] as const;

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

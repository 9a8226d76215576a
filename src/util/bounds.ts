/**
 * The allowed range of a number setting, and the one wording of its violation, shared by the
 * command-line flag parsers and the checks of settings read from files, so that a value refused
 * on the command line is refused from a file with the same words.
 */
import { InputError, quoteInput } from './errors.js';

/**
 * Seeds are integers 0..2^32-1: the generator (src/util/rng.ts) keeps 32 bits of a seed, so a
 * larger one would silently repeat a smaller one's streams.
 */
export const MAX_SEED = 2 ** 32 - 1;

/**
 * A library option's seed: `fallback` when absent, else an integer 0..MAX_SEED (InputError
 * naming the option otherwise). The CLI's flags are checked by their parsers (cli/options.ts).
 */
export function seedOf(v: number | undefined, name: string, fallback = 0): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_SEED) throw new InputError(`${name} must be an integer 0..${MAX_SEED}, got ${quoteInput(String(v))}`);
  return v;
}

export interface NumberBound {
  /** Whole numbers only. */
  readonly integer: boolean;
  /** Smallest allowed value (inclusive), unless `aboveMin`. */
  readonly min: number;
  /** `min` itself is refused (a limit or budget of 0 means nothing). */
  readonly aboveMin?: boolean;
  /** Largest allowed value (inclusive); Infinity for none. */
  readonly max: number;
}

export function integerBound(min: number, max: number): NumberBound {
  return { integer: true, min, max };
}

/** A finite number greater than 0 (and at most `max`). */
export function positiveBound(max = Infinity): NumberBound {
  return { integer: false, min: 0, aboveMin: true, max };
}

/** How a value outside `b` is described: "must be an integer from 2 to 10000", "must be greater than 0". */
function integerRule(b: NumberBound): string {
  const bounded = b.max < Number.MAX_SAFE_INTEGER;
  if (b.min > -Infinity) return `must be an integer ${bounded ? `from ${b.min} to ${b.max}` : `>= ${b.min}`}`;
  return `must be an integer${bounded ? ` at most ${b.max}` : ''}`;
}

/**
 * Why `value` lies outside `b` ("must be …"), or null when it is allowed. `value` may be
 * anything read from a file: a string, null or an object is refused like an out-of-range number.
 */
export function boundProblem(b: NumberBound, value: unknown): string | null {
  if (b.integer) {
    const ok = typeof value === 'number' && Number.isSafeInteger(value) && value >= b.min && value <= b.max;
    return ok ? null : integerRule(b);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
  if (b.aboveMin ? !(value > b.min) : !(value >= b.min)) return b.aboveMin ? `must be greater than ${b.min}` : `must be at least ${b.min}`;
  if (value > b.max) return `must be at most ${b.max}`;
  return null;
}

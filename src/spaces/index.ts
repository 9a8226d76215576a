/**
 * The two NATS-Bench search spaces as `SearchSpace` objects (see types.ts), plus
 * `parseArchitecture`, which accepts an architecture string or a NATS-Bench index.
 *
 * TSS indices are NATS-Bench's own order, which only the benchmark table knows (row order of
 * nats-tss-test-accuracy-200ep.csv); `tssSpace()` without a table can do everything except
 * `indexOf` / `fromIndex`, which then throw an InputError explaining how to provide the table.
 * SSS indices are pure arithmetic.
 */
import type { TssTable } from '../benchmark/tables.js';
import { InputError } from '../util/errors.js';
import { canonicalTss } from './canonical.js';
import {
  crossoverSssChannels,
  formatSssChannels,
  mutateSssChannels,
  parseSssChannels,
  sampleSssChannels,
  sssFromIndex,
  sssIndexOf,
  SSS_SIZE,
} from './sss.js';
import {
  crossoverTssCell,
  formatTssCell,
  mutateTssCell,
  parseTssCell,
  sampleTssCell,
  TSS_SIZE,
} from './tss.js';
import type { SearchSpace, SpaceName, SssChannels, TssCell } from './types.js';

/** What `tssSpace` needs from a benchmark table (a full `TssTable` fits). */
export type TssIndexSource = Pick<TssTable, 'size' | 'archString' | 'indexOfArch'>;

function checkRange(index: number, size: number, name: SpaceName): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new InputError(`index ${index} is out of range 0..${size - 1} for ${name}`);
  }
}

function tableNeeded(): InputError {
  return new InputError(
    'TSS architecture indices follow NATS-Bench\'s own order, which needs the NATS-Bench table ' +
      'nats-bench/nats-tss-test-accuracy-200ep.csv: point --data-dir (or MFNAS_DATA_DIR) at a data ' +
      'directory that contains it, or create it with `mfnas bench import`; or give the cell string instead of the index',
  );
}

export function tssSpace(table?: TssIndexSource | null): SearchSpace<TssCell> {
  if (table && table.size !== TSS_SIZE) {
    throw new InputError(`a TSS benchmark table must have ${TSS_SIZE} architectures, this one has ${table.size}`);
  }
  return {
    name: 'tss',
    size: TSS_SIZE,
    parse: parseTssCell,
    format: formatTssCell,
    indexOf(cell) {
      const text = formatTssCell(cell);
      if (!table) throw tableNeeded();
      const index = table.indexOfArch(text);
      if (index === undefined) throw new Error(`cell ${text} is missing from the TSS table`);
      return index;
    },
    fromIndex(index) {
      checkRange(index, TSS_SIZE, 'tss');
      if (!table) throw tableNeeded();
      return parseTssCell(table.archString(index));
    },
    canonical: canonicalTss,
    sample: sampleTssCell,
    mutate: mutateTssCell,
    crossover: crossoverTssCell,
  };
}

export function sssSpace(): SearchSpace<SssChannels> {
  return {
    name: 'sss',
    size: SSS_SIZE,
    parse: parseSssChannels,
    format: formatSssChannels,
    indexOf: sssIndexOf,
    fromIndex(index) {
      checkRange(index, SSS_SIZE, 'sss');
      return sssFromIndex(index);
    },
    canonical: formatSssChannels,
    sample: sampleSssChannels,
    mutate: mutateSssChannels,
    crossover: crossoverSssChannels,
  };
}

/** 'tss' / 'sss' (case-insensitive; also 'topology' / 'size'). */
export function parseSpaceName(text: string): SpaceName {
  const key = text.trim().toLowerCase();
  if (key === 'tss' || key === 'topology') return 'tss';
  if (key === 'sss' || key === 'size') return 'sss';
  throw new InputError(`unknown search space '${text}': use tss (topology) or sss (size)`);
}

/**
 * An architecture given as its string form or as a NATS-Bench index (`"9930"`).
 * Throws InputError for malformed strings and out-of-range indices.
 */
export function parseArchitecture<A>(space: SearchSpace<A>, text: string): A {
  const t = text.trim();
  if (/^[+-]?\d+$/.test(t)) {
    const index = Number(t);
    checkRange(index, space.size, space.name);
    return space.fromIndex(index);
  }
  try {
    return space.parse(t);
  } catch (e) {
    if (e instanceof InputError) {
      throw new InputError(`${e.message} (or give a NATS-Bench index 0..${space.size - 1})`);
    }
    throw e;
  }
}

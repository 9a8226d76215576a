/**
 * Decoding of NATS-Bench's `*.pickle.pbz2` files: bzip2 (`seek-bzip`) around a Python pickle,
 * read by the shared allow-listed pickle reader (src/datasets/pickle.ts: no code runs, any global
 * outside its allow-list makes the file be refused), plus typed, error-reporting access to the
 * resulting Python values. Python dicts and OrderedDicts become JS Maps (their keys can be
 * tuples, e.g. all_results[('cifar10', 777)], which arrive as JS arrays), lists, tuples and sets
 * become arrays, numpy scalars numbers.
 */
import { createRequire } from 'node:module';
import { unpickle as unpickleAllowed } from '../../datasets/pickle.js';
import { DataError, quoteInput } from '../../util/errors.js';

const require = createRequire(import.meta.url);
// seek-bzip is CommonJS without type declarations; this is the part of its API used here.
const Bunzip = require('seek-bzip') as { decode(input: Uint8Array, expectedSize?: number): Buffer };

/** Hint appended to shape errors. */
export const SIMPLE_FORMAT_HINT = 'expected an official NATS-Bench "simple" file; re-extract the official archive';

/** Decompress a bzip2 file's contents; DataError naming `file` if it is not bzip2 or is corrupt/truncated. */
export function bunzip(data: Uint8Array, file: string): Buffer {
  if (data.length < 4 || data[0] !== 0x42 || data[1] !== 0x5a || data[2] !== 0x68) {
    throw new DataError(`${file}: not a bzip2 file (no 'BZh' signature); ${SIMPLE_FORMAT_HINT}`);
  }
  try {
    return Bunzip.decode(data);
  } catch (e) {
    throw new DataError(`${file}: corrupt or truncated bzip2 data (${(e as Error).message}); ${SIMPLE_FORMAT_HINT}`);
  }
}

/** Unpickle `data` (the decompressed contents of `file`); DataError naming the file on failure. */
export function unpickle(data: Uint8Array, file: string): unknown {
  if (data.length < 2 || data[0] !== 0x80) {
    throw new DataError(`${file}: the decompressed data is not a Python pickle (protocol 2 or later); ${SIMPLE_FORMAT_HINT}`);
  }
  try {
    return unpickleAllowed(data);
  } catch (e) {
    throw new DataError(`${file}: cannot read the pickle (${(e as Error).message}); ${SIMPLE_FORMAT_HINT}`);
  }
}

// ---------------------------------------------------------------------------------------
// Typed access with errors that say where in the file the structure is wrong.

export type PyMap = Map<unknown, unknown>;

export function shapeError(file: string, at: string, problem: string): DataError {
  return new DataError(`${file}: unexpected content at ${at || 'top level'}: ${problem}; ${SIMPLE_FORMAT_HINT}`);
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Map) return `a dict with ${v.size} entries`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return `the string ${quoteInput(v, { max: 40 })}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
}

export function asMap(v: unknown, file: string, at: string): PyMap {
  if (!(v instanceof Map)) throw shapeError(file, at, `expected a dict, found ${describe(v)}`);
  return v;
}

export function asArray(v: unknown, file: string, at: string): unknown[] {
  if (!Array.isArray(v)) throw shapeError(file, at, `expected a list, found ${describe(v)}`);
  return v;
}

export function asNumber(v: unknown, file: string, at: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  throw shapeError(file, at, `expected a number, found ${describe(v)}`);
}

export function asString(v: unknown, file: string, at: string): string {
  if (typeof v !== 'string') throw shapeError(file, at, `expected a string, found ${describe(v)}`);
  return v;
}

/** `map[key]`, or a DataError listing the keys that are there. */
export function getKey(map: PyMap, key: string, file: string, at: string): unknown {
  if (!map.has(key)) {
    const keys = [...map.keys()].slice(0, 12).map((k) => quoteInput(typeof k === 'string' ? k : JSON.stringify(k) ?? String(k), { max: 30 }));
    throw shapeError(file, at, `no '${key}' entry (found ${keys.length ? keys.join(', ') : 'no entries'})`);
  }
  return map.get(key);
}

export function joinPath(at: string, key: string | number): string {
  return typeof key === 'number' ? `${at}[${key}]` : at ? `${at}['${key}']` : `['${key}']`;
}

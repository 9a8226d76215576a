/**
 * Decoding of NATS-Bench's `*.pickle.pbz2` files: bzip2 (`seek-bzip`) around a Python pickle
 * (`pickleparser`), plus typed, error-reporting access to the resulting Python values.
 *
 * Unpickling here never runs code: the few Python callables the NATS-Bench files reference are
 * mapped to small JS functions —
 *   collections.OrderedDict          → a JS Map (items arrive through SETITEMS),
 *   numpy.dtype + BUILD state        → a dtype descriptor (kind, byte order),
 *   numpy.core.multiarray.scalar     → a JS number decoded from the raw bytes (e.g. params,
 *                                      latency are numpy float64 scalars),
 *   _codecs.encode(str, 'latin1')    → bytes (how protocol-2 pickles from Python 3 store bytes);
 * any other global makes the file be rejected. Python dicts become JS Maps (their keys can be
 * tuples, e.g. all_results[('cifar10', 777)], which arrive as JS arrays), lists and tuples
 * become arrays, sets become arrays.
 */
import { createRequire } from 'node:module';
import { NameRegistry, Parser } from 'pickleparser';
import { DataError } from '../../util/errors.js';

const require = createRequire(import.meta.url);
// seek-bzip is CommonJS without type declarations; this is the part of its API used here.
const Bunzip = require('seek-bzip') as { decode(input: Uint8Array, expectedSize?: number): Buffer };

/** Hint appended to shape errors. */
export const SIMPLE_FORMAT_HINT =
  'expected an official NATS-Bench "simple" file (from NATS-tss-v1_0-3ffb9-simple or NATS-sss-v1_0-50262-simple); ' +
  're-extract the official archive';

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

interface Dtype {
  kind: string;
  byteOrder: string;
  __setstate__(state: unknown): void;
}

function makeDtype(spec: unknown): Dtype {
  return {
    kind: String(spec),
    byteOrder: '<',
    __setstate__(state: unknown) {
      // numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment, flags)
      if (Array.isArray(state) && typeof state[1] === 'string') this.byteOrder = state[1];
    },
  };
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'latin1'); // protocol 0-2 byte strings
  throw new Error(`expected bytes, got ${typeof v}`);
}

function numpyScalar(dtype: unknown, raw: unknown): number | boolean {
  if (typeof dtype !== 'object' || dtype === null || !('kind' in dtype)) throw new Error('numpy scalar without dtype');
  const { kind, byteOrder } = dtype as Dtype;
  const bytes = toBytes(raw);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = byteOrder !== '>';
  const need = (n: number) => {
    if (bytes.length < n) throw new Error(`numpy ${kind} scalar with ${bytes.length} bytes`);
  };
  switch (kind) {
    case 'f8': need(8); return view.getFloat64(0, little);
    case 'f4': need(4); return view.getFloat32(0, little);
    case 'i8': need(8); return Number(view.getBigInt64(0, little));
    case 'u8': need(8); return Number(view.getBigUint64(0, little));
    case 'i4': need(4); return view.getInt32(0, little);
    case 'u4': need(4); return view.getUint32(0, little);
    case 'i2': need(2); return view.getInt16(0, little);
    case 'u2': need(2); return view.getUint16(0, little);
    case 'i1': need(1); return view.getInt8(0);
    case 'u1': need(1); return view.getUint8(0);
    case 'b1': need(1); return view.getUint8(0) !== 0;
    default: throw new Error(`unsupported numpy scalar type '${kind}'`);
  }
}

class UnexpectedGlobal extends Error {}

class NatsNames extends NameRegistry {
  override onMissingName(module: string, name: string): never {
    throw new UnexpectedGlobal(`the pickle references the Python object ${module}.${name}, which NATS-Bench files do not contain`);
  }
}

function makeRegistry(): NameRegistry {
  const reg = new NatsNames();
  reg.register('collections', 'OrderedDict', (items?: unknown) => new Map(Array.isArray(items) ? (items as [unknown, unknown][]) : []));
  reg.register('numpy', 'dtype', makeDtype);
  reg.register('numpy.core.multiarray', 'scalar', numpyScalar);
  reg.register('numpy._core.multiarray', 'scalar', numpyScalar); // pickles written by numpy >= 2
  reg.register('_codecs', 'encode', (s: unknown) => Buffer.from(String(s), 'latin1'));
  return reg;
}

/** Unpickle `data` (the decompressed contents of `file`); DataError naming the file on failure. */
export function unpickle(data: Uint8Array, file: string): unknown {
  if (data.length < 2 || data[0] !== 0x80) {
    throw new DataError(`${file}: the decompressed data is not a Python pickle (protocol 2 or later); ${SIMPLE_FORMAT_HINT}`);
  }
  try {
    const parser = new Parser({ nameResolver: makeRegistry(), unpicklingTypeOfDictionary: 'Map', unpicklingTypeOfSet: 'array' });
    return parser.parse(data);
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
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 40) ?? ''}`.trim();
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
    const keys = [...map.keys()].slice(0, 12).map((k) => (typeof k === 'string' ? `'${k}'` : JSON.stringify(k)));
    throw shapeError(file, at, `no '${key}' entry (found ${keys.length ? keys.join(', ') : 'no entries'})`);
  }
  return map.get(key);
}

export function joinPath(at: string, key: string | number): string {
  return typeof key === 'number' ? `${at}[${key}]` : at ? `${at}['${key}']` : `['${key}']`;
}

/**
 * The one Python-pickle reader of mfnas, shared by the ImageNet16 loader (./imagenet16.ts) and
 * the NATS-Bench importer (../natsbench/import/). Built on the `pickleparser` package, which
 * handles every pickle opcode but, left to itself, turns any global a pickle names (e.g.
 * `os.system`) into a stand-in object and lets REDUCE "call" it. Here a global resolves only if
 * it is on ALLOWED_GLOBALS — exactly those the official ImageNet16 and NATS-Bench files use,
 * each mapped to a small JS function — and anything else makes the whole file be refused.
 * Nothing in a pickle can run code.
 *
 * A numpy array is pickled (protocol 2) as
 *
 *     numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')      -- REDUCE
 *       .__setstate__((version, shape, dtype, is_fortran, raw_bytes))    -- BUILD
 *     dtype = numpy.dtype('u1', False, True).__setstate__((3, '|', ...))
 *
 * so `_reconstruct` returns an empty `NdArray`, and the parser's BUILD step calls its
 * `__setstate__`, which stores shape, dtype and the raw bytes. A numpy scalar (NATS-Bench's
 * params, latency, …) is `numpy.core.multiarray.scalar(dtype, raw_bytes)` and becomes a JS
 * number; `collections.OrderedDict` becomes a Map. Raw bytes reach us in one of two forms:
 *   - Python 3 writers (protocol 2 has no bytes opcode) emit `_codecs.encode(<str>, 'latin1')`
 *     with the bytes as a latin-1 text string; we register `_codecs.encode` to undo it.
 *   - Python 2 writers (the original downsampled-ImageNet files) emit a BINSTRING. Python 3
 *     readers load these with `pickle.load(f, encoding='latin1')`; pickleparser decodes them
 *     with TextDecoder('ascii'), which the WHATWG spec maps to windows-1252 (0x80 → '€', …), so
 *     we hand the parser a reader that decodes those strings as latin-1 instead, making every
 *     byte 0..255 map to the code point of the same value.
 * Latin-1 strings convert back to bytes losslessly with Buffer.from(s, 'latin1').
 */
import { BufferReader, Parser } from 'pickleparser';
import { quoteInput } from '../util/errors.js';

/** A numpy dtype as far as we need it: kind + item size + byte order. */
export class NpDtype {
  /** e.g. 'u1', 'i8', 'f4' (without byte-order prefix). */
  readonly code: string;
  byteOrder: string;
  constructor(spec: unknown) {
    if (typeof spec !== 'string') throw new Error(`unsupported numpy dtype spec ${describe(spec)}`);
    const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(spec);
    if (!m) throw new Error(`unsupported numpy dtype '${spec}'`);
    this.byteOrder = m[1] || '=';
    this.code = m[2] + m[3];
  }
  /** Called by the parser's BUILD with numpy's dtype state tuple (version, byteorder, ...). */
  __setstate__(state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.byteOrder = state[1];
  }
}

/** A numpy ndarray: shape, dtype and the raw (C- or Fortran-order) bytes. */
export class NdArray {
  shape: number[] = [];
  dtype: NpDtype | null = null;
  fortranOrder = false;
  data: Uint8Array = new Uint8Array(0);
  /** numpy's ndarray.__reduce__ state: (version, shape, dtype, is_fortran, raw bytes or list). */
  __setstate__(state: unknown): void {
    if (!Array.isArray(state) || state.length < 5) {
      throw new Error(`numpy array state is not a 5-tuple (got ${describe(state)})`);
    }
    const [, shape, dtype, fortran, raw] = state as unknown[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`numpy array shape is not a tuple of sizes (got ${describe(shape)})`);
    }
    if (!(dtype instanceof NpDtype)) throw new Error(`numpy array dtype is ${describe(dtype)}`);
    this.shape = shape as number[];
    this.dtype = dtype;
    this.fortranOrder = fortran === true;
    this.data = toBytes(raw, 'numpy array data');
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'object') {
    const name = (v as { __name__?: unknown }).__name__;
    return typeof name === 'string' ? `a ${name} object` : 'an object';
  }
  return typeof v === 'string' ? `the string ${quoteInput(v, { max: 20 })}` : String(v);
}

/** Raw bytes from a pickle value: bytes objects arrive as Uint8Array, py2 str as latin-1 text. */
function toBytes(raw: unknown, what: string): Uint8Array {
  if (raw instanceof Uint8Array) return raw;
  if (typeof raw === 'string') return latin1Bytes(raw, what);
  throw new Error(`${what} is ${describe(raw)}, not bytes`);
}

function latin1Bytes(text: string, what: string): Uint8Array {
  // Buffer.from(…, 'latin1') silently truncates code points > 255; check first.
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u00ff]/.test(text)) throw new Error(`${what} has characters outside latin-1`);
  const b = Buffer.from(text, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** BufferReader that decodes Python 2 byte strings (BINSTRING, SHORT_BINSTRING) as latin-1. */
class Latin1Reader extends BufferReader {
  override string(size: number, encoding: 'ascii' | 'utf-8'): string {
    if (encoding === 'utf-8') return super.string(size, encoding);
    const d = this.bytes(size);
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1');
  }
}

function reconstruct(cls: unknown, _shape: unknown, _typecode: unknown): NdArray {
  if (cls !== NdArray) throw new Error(`_reconstruct of ${describe(cls)}, expected numpy.ndarray`);
  return new NdArray();
}

/** numpy.core.numeric._frombuffer(buf, dtype, shape, order), used by protocol >= 5 writers. */
function frombuffer(buf: unknown, dtype: unknown, shape: unknown, order: unknown): NdArray {
  const a = new NdArray();
  a.__setstate__([1, shape, dtype, order === 'F', buf]);
  return a;
}

/** numpy.core.multiarray.scalar(dtype, raw): the value of a numpy scalar as a JS number (or boolean). */
function numpyScalar(dtype: unknown, raw: unknown): number | boolean {
  if (!(dtype instanceof NpDtype)) throw new Error(`numpy scalar with dtype ${describe(dtype)}`);
  const { code, byteOrder } = dtype;
  const bytes = toBytes(raw, `numpy ${code} scalar`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = byteOrder !== '>';
  const need = (n: number) => {
    if (bytes.length < n) throw new Error(`numpy ${code} scalar with ${bytes.length} bytes`);
  };
  switch (code) {
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
    default: throw new Error(`unsupported numpy scalar type ${quoteInput(code, { max: 20 })}`);
  }
}

function codecsEncode(text: unknown, encoding: unknown): Uint8Array {
  const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace(/[-_]/g, '') : '';
  if (typeof text !== 'string' || !['latin1', 'iso88591'].includes(enc)) {
    throw new Error(`unsupported _codecs.encode(${describe(text)}, ${describe(encoding)})`);
  }
  return latin1Bytes(text, 'encoded bytes');
}

type PyCallable = (new (...args: any[]) => any) | ((...args: any[]) => any);

/**
 * Every Python global a pickle may name, as `module.name` — the union of what the official
 * downsampled-ImageNet batches and NATS-Bench "simple" files reference (numpy >= 2 writes
 * `numpy._core` where older versions wrote `numpy.core`).
 */
const GLOBALS: ReadonlyMap<string, PyCallable> = new Map<string, PyCallable>([
  ['numpy.core.multiarray._reconstruct', reconstruct],
  ['numpy._core.multiarray._reconstruct', reconstruct],
  ['numpy.core.numeric._frombuffer', frombuffer],
  ['numpy._core.numeric._frombuffer', frombuffer],
  ['numpy.core.multiarray.scalar', numpyScalar],
  ['numpy._core.multiarray.scalar', numpyScalar],
  ['numpy.ndarray', NdArray],
  ['numpy.dtype', (spec: unknown) => new NpDtype(spec)],
  ['collections.OrderedDict', (items?: unknown) => new Map(Array.isArray(items) ? (items as [unknown, unknown][]) : [])],
  ['_codecs.encode', codecsEncode],
]);

export const ALLOWED_GLOBALS: readonly string[] = [...GLOBALS.keys()];

/** Thrown for a pickle that names a global outside ALLOWED_GLOBALS. */
export class ForbiddenGlobalError extends Error {
  constructor(readonly global: string) {
    super(`the pickle references the Python global ${global}, which data files never contain; the file was refused`);
    this.name = 'ForbiddenGlobalError';
  }
}

const allowListResolver = {
  resolve(module: unknown, name: unknown) {
    // STACK_GLOBAL takes module and name from the stack: they need not even be strings.
    const key = `${String(module)}.${String(name)}`;
    const f = typeof module === 'string' && typeof name === 'string' ? GLOBALS.get(key) : undefined;
    if (f === undefined) throw new ForbiddenGlobalError(/^[\w.]{1,80}$/.test(key) ? key : quoteInput(key));
    return f;
  },
};

/**
 * Unpickle a buffer. Dicts come back as Map (keys may be any pickle value), tuples, lists and
 * sets as arrays, numpy arrays as NdArray, numpy scalars as numbers. Throws a plain Error on
 * corrupt input (ForbiddenGlobalError for a global outside ALLOWED_GLOBALS); callers wrap it in
 * a DataError that names the file.
 */
export function unpickle(buffer: Uint8Array): unknown {
  const parser = new Parser({ nameResolver: allowListResolver, unpicklingTypeOfDictionary: 'Map', unpicklingTypeOfSet: 'array' });
  return parser.read(new Latin1Reader(buffer));
}

/** Integer values of a 1-D list or integer NdArray (little-endian or single-byte dtypes). */
export function toIntArray(value: unknown, what: string): Int32Array {
  if (Array.isArray(value)) {
    const out = new Int32Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) {
        throw new Error(`${what}[${i}] is ${describe(v)}, not an integer`);
      }
      out[i] = n;
    }
    return out;
  }
  if (value instanceof NdArray && value.dtype) {
    if (value.shape.length !== 1) throw new Error(`${what} has shape [${value.shape}], expected 1-D`);
    const { code, byteOrder } = value.dtype;
    const m = /^([iu])([1248])$/.exec(code);
    if (!m) throw new Error(`${what} has numpy dtype '${code}', expected an integer type`);
    const size = Number(m[2]);
    if (size > 1 && byteOrder === '>') throw new Error(`${what} is big-endian, not supported`);
    const n = value.shape[0];
    if (value.data.length !== n * size) {
      throw new Error(`${what} has ${value.data.length} bytes for ${n} items of ${size} bytes`);
    }
    const dv = new DataView(value.data.buffer, value.data.byteOffset, value.data.byteLength);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * size;
      const signed = m[1] === 'i';
      out[i] =
        size === 1 ? (signed ? dv.getInt8(o) : dv.getUint8(o))
        : size === 2 ? (signed ? dv.getInt16(o, true) : dv.getUint16(o, true))
        : size === 4 ? (signed ? dv.getInt32(o, true) : dv.getUint32(o, true))
        : Number(signed ? dv.getBigInt64(o, true) : dv.getBigUint64(o, true));
    }
    return out;
  }
  throw new Error(`${what} is ${describe(value)}, not a list of integers`);
}

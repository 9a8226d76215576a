/**
 * The safetensors file format (https://huggingface.co/docs/safetensors), for float32 tensors:
 * an 8-byte little-endian header length N, N bytes of JSON
 * `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}`
 * padded with spaces to a multiple of 8, then the tensors' bytes, little-endian, back to back.
 * Readable by `safetensors.torch.load_file` and every other safetensors reader.
 */
import { createHash } from 'node:crypto';
import { DataError, quoteInput, quotePath } from '../util/errors.js';

export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Encode tensors (in the given order) and string metadata as one safetensors file. With
 * `sha256Key`, the metadata also records the SHA-256 of the data section under that key (what
 * `DecodedSafetensors.dataSha256` gives back), so that a reader can prove the tensors' bytes.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}, { sha256Key }: { sha256Key?: string } = {},
): Uint8Array {
  const entries: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] does not hold ${t.data.length} values`);
    entries[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (littleEndian) data.set(bytes, at);
    else {
      const view = new DataView(data.buffer, at, bytes.length);
      t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
    }
    at += bytes.length;
  }
  const meta = sha256Key === undefined ? metadata : { ...metadata, [sha256Key]: sha256Hex(data) };
  const header = Object.keys(meta).length > 0 ? { __metadata__: meta, ...entries } : entries;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

export interface DecodedSafetensors {
  readonly tensors: Map<string, NamedTensor>;
  readonly metadata: Record<string, string>;
  /** SHA-256 (hex) of the data section: every tensor's bytes, in file order. */
  readonly dataSha256: string;
}

/** SHA-256 (hex) of a safetensors data section, as `DecodedSafetensors.dataSha256` and the encoder compute it. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

type Entry = { readonly name: string; readonly shape: number[]; readonly begin: number; readonly end: number };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The header's tensor entry `name`, checked on its own: an object with dtype F32, a shape of
 * non-negative integers and offsets [begin, end] whose span holds exactly that many floats.
 * Returns the reason when it is not.
 */
function checkEntry(name: string, entry: unknown): Entry | string {
  if (!isPlainObject(entry)) return 'is not an object';
  if (entry.dtype !== 'F32') return `is ${typeof entry.dtype === 'string' ? quoteInput(entry.dtype, { max: 20 }) : 'of no dtype'}, not F32`;
  const { shape, data_offsets: offsets } = entry;
  if (!Array.isArray(shape) || !shape.every(isCount)) return 'has a shape that is not a list of non-negative integers';
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return 'has data_offsets that are not two non-negative integers';
  const [begin, end] = offsets as [number, number];
  if (begin > end) return 'has data_offsets that end before they begin';
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(4 * size) || end - begin !== 4 * size) return `has offsets [${begin}, ${end}] that do not fit its shape [${shape.join(',')}]`;
  return { name, shape: shape as number[], begin, end };
}

/**
 * Decode a safetensors file of float32 tensors; `file` names it in errors. The header is checked
 * as the format's reference implementation checks it before any tensor is read: string metadata,
 * F32 entries, and offsets that tile the data section exactly (no overlap, no hole, nothing past
 * the end) — so every failure is one DataError naming the file.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): DecodedSafetensors {
  const bad = (why: string) => new DataError(`${quotePath(file)} is not a valid safetensors file (${why}); restore it from a backup or delete it`);
  if (bytes.length < 8) throw bad('shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) throw bad('truncated header');
  const body = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, body)).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  if (!isPlainObject(header)) throw bad('header is not an object');
  const tensorName = (name: string) => `tensor ${quoteInput(name, { max: 40, tail: true })}`;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) throw bad('__metadata__ is not an object of strings');
      metadata = Object.fromEntries(Object.entries(entry)) as Record<string, string>; // a "__proto__" key stays a plain key
      continue;
    }
    const checked = checkEntry(name, entry);
    if (typeof checked === 'string') throw bad(`${tensorName(name)} ${checked}`);
    entries.push(checked);
  }
  const dataLength = bytes.length - body;
  let covered = 0;
  for (const e of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (e.begin < covered) throw bad(`${tensorName(e.name)} overlaps another tensor`);
    if (e.begin > covered) throw bad(`bytes ${covered} to ${e.begin} of the data belong to no tensor`);
    if (e.end > dataLength) throw bad(`${tensorName(e.name)} ends past the end of the file (file truncated?)`);
    covered = e.end;
  }
  if (covered !== dataLength) throw bad(`${(dataLength - covered).toLocaleString('en-US')} bytes after the last tensor belong to no tensor`);
  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    const size = (e.end - e.begin) / 4;
    const data = new Float32Array(size);
    const src = new DataView(bytes.buffer, bytes.byteOffset + body + e.begin, 4 * size);
    for (let i = 0; i < size; i++) data[i] = src.getFloat32(4 * i, true);
    tensors.set(e.name, { shape: e.shape, data });
  }
  return { tensors, metadata, dataSha256: sha256Hex(bytes.subarray(body)) };
}

/**
 * The safetensors file format (https://huggingface.co/docs/safetensors), for float32 tensors:
 * an 8-byte little-endian header length N, N bytes of JSON
 * `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}`
 * padded with spaces to a multiple of 8, then the tensors' bytes, little-endian, back to back.
 * Readable by `safetensors.torch.load_file` and every other safetensors reader.
 */
import { DataError, quotePath } from '../util/errors.js';

export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Encode tensors (in the given order) and string metadata as one safetensors file. */
export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] does not hold ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (littleEndian) out.set(bytes, at);
    else {
      const view = new DataView(out.buffer, at, bytes.length);
      t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
    }
    at += bytes.length;
  }
  return out;
}

export interface DecodedSafetensors {
  readonly tensors: Map<string, NamedTensor>;
  readonly metadata: Record<string, string>;
}

/** Decode a safetensors file of float32 tensors; `file` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): DecodedSafetensors {
  const bad = (why: string) => new DataError(`${quotePath(file)} is not a valid safetensors file (${why}); delete it or restore it from a backup`);
  if (bytes.length < 8) throw bad('shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw bad('truncated header');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not an object');
  const body = 8 + n;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32') throw bad(`tensor ${JSON.stringify(name.slice(0, 60))} is ${String(e.dtype)}, not F32`);
    const shape = e.shape as number[];
    const [begin, end] = e.data_offsets as [number, number];
    const size = Array.isArray(shape) ? shape.reduce((a, b) => a * b, 1) : NaN;
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(begin) || end - begin !== 4 * size || body + end > bytes.length) {
      throw bad(`tensor ${JSON.stringify(name.slice(0, 60))} has a bad shape or offsets (file truncated?)`);
    }
    const data = new Float32Array(size);
    const src = new DataView(bytes.buffer, bytes.byteOffset + body + begin, 4 * size);
    for (let i = 0; i < size; i++) data[i] = src.getFloat32(4 * i, true);
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

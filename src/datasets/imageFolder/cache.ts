/**
 * The decoded-image cache: one file per folder content, `<key>.bin`, holding both splits'
 * pixels and labels, the bad files met while decoding and the normalisation statistics, so that
 * a second open of an unchanged folder reads one file instead of decoding every image.
 *
 * Layout: the 8 bytes "MFNASIC1", a uint32 (LE) header length, the header as JSON, then the
 * payload: train pixels, train labels (int32 LE), test pixels, test labels. The header holds the
 * payload's SHA-256, so a damaged file is recognised and decoded again, never used.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomicWrite.js';
import { readRegularFile, readRegularFileSync, type RegularFileOptions } from '../../util/regularFile.js';
import type { BadFile } from './scan.js';

const MAGIC = 'MFNASIC1';

export interface CachedSplit {
  readonly n: number;
  /** n x 3 x size x size channel planes. */
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
}

export interface ImageCacheContent {
  /** The content key (file name without .bin). */
  readonly key: string;
  readonly decoder: string;
  readonly imageSize: number;
  readonly classNames: readonly string[];
  readonly train: CachedSplit;
  readonly test: CachedSplit | null;
  /** Images that failed to decode (the key covers the files, so this never goes stale). */
  readonly corrupt: readonly BadFile[];
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

interface Header {
  key: string;
  decoder: string;
  imageSize: number;
  classNames: string[];
  train: number;
  test: number | null;
  corrupt: BadFile[];
  mean: [number, number, number];
  std: [number, number, number];
  sha256: string;
}

export function imageCacheFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.bin`);
}

function labelBytes(labels: Int32Array): Uint8Array {
  const out = Buffer.alloc(labels.length * 4);
  for (let i = 0; i < labels.length; i++) out.writeInt32LE(labels[i], i * 4);
  return out;
}

/** Writes the cache file atomically (readers see the old file or the whole new one). */
export function writeImageCache(file: string, c: ImageCacheContent): void {
  const parts: Uint8Array[] = [c.train.pixels, labelBytes(c.train.labels)];
  if (c.test) parts.push(c.test.pixels, labelBytes(c.test.labels));
  const payload = Buffer.concat(parts);
  const header: Header = {
    key: c.key, decoder: c.decoder, imageSize: c.imageSize, classNames: [...c.classNames],
    train: c.train.n, test: c.test ? c.test.n : null, corrupt: [...c.corrupt],
    mean: [...c.mean], std: [...c.std], sha256: createHash('sha256').update(payload).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  writeFileAtomic(file, Buffer.concat([Buffer.from(MAGIC, 'latin1'), len, json, payload]));
}

function readSplit(payload: Buffer, offset: number, n: number, imageBytes: number): { split: CachedSplit; end: number } {
  const pixels = new Uint8Array(payload.subarray(offset, offset + n * imageBytes)); // a copy: the file buffer can go
  let at = offset + n * imageBytes;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++, at += 4) labels[i] = payload.readInt32LE(at);
  return { split: { n, pixels, labels }, end: at };
}

/** The cache folder may be shared: whatever sits at a cache file's name must be a regular file to be read. */
const READ_AS_CACHE: RegularFileOptions = { what: 'the image cache file', hint: 'it is decoded again' };

/**
 * The cache file's content, or null when it is absent, of another key or decoder, damaged
 * (truncated, wrong checksum) or not a regular file: the caller then decodes again and rewrites it.
 */
export function readImageCache(file: string, key: string): ImageCacheContent | null {
  let buf: Buffer;
  try {
    buf = readRegularFileSync(file, READ_AS_CACHE);
  } catch {
    return null;
  }
  return parseImageCache(buf, key);
}

/** `readImageCache` reading on the thread pool, so the caller's event loop keeps running. */
export async function readImageCacheAsync(file: string, key: string): Promise<ImageCacheContent | null> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(file, READ_AS_CACHE);
  } catch {
    return null;
  }
  return parseImageCache(buf, key);
}

function parseImageCache(buf: Buffer, key: string): ImageCacheContent | null {
  try {
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) return null;
    const len = buf.readUInt32LE(8);
    const h = JSON.parse(buf.toString('utf8', 12, 12 + len)) as Header;
    if (h.key !== key) return null;
    const payload = buf.subarray(12 + len);
    if (createHash('sha256').update(payload).digest('hex') !== h.sha256) return null;
    const imageBytes = 3 * h.imageSize * h.imageSize;
    const expected = (h.train + (h.test ?? 0)) * (imageBytes + 4);
    if (payload.length !== expected) return null;
    const train = readSplit(payload, 0, h.train, imageBytes);
    const test = h.test === null ? null : readSplit(payload, train.end, h.test, imageBytes).split;
    return {
      key: h.key, decoder: h.decoder, imageSize: h.imageSize, classNames: h.classNames,
      train: train.split, test, corrupt: h.corrupt, mean: h.mean, std: h.std,
    };
  } catch {
    return null;
  }
}

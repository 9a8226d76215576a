/**
 * A user's image folder as a dataset (README "Your own images"): DIR/train/<class>/*.png|jpg|jpeg
 * and optionally DIR/test/<class>/..., decoded once (decode.ts), cached on disk by content
 * (cache.ts) and from then on an `ImageSet` like the builtin datasets.
 *
 * Opening hashes every file (cheap next to decoding) into the content key; an unchanged folder
 * then loads from the cache without decoding, and any change (a file added, removed, renamed or
 * edited; another --image-size; another decoder) gives another key, another fingerprint and so
 * other score-cache entries.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultImageCacheDir } from '../../storage/paths.js';
import { DataError, InputError, quoteInput, quotePath } from '../../util/errors.js';
import { readRegularFile, type RegularFileOptions } from '../../util/regularFile.js';
import { cropPaddingFor, type FolderDataset } from '../registry.js';
import { imageCacheFile, readImageCache, readImageCacheAsync, writeImageCache, type CachedSplit, type ImageCacheContent } from './cache.js';
import { DecodeFailure, DECODER_ID, decodeImageBytes, MAX_IMAGE_FILE_BYTES } from './decode.js';
import { scanImageFolder, type BadFile, type ImageEntry, type FolderSplit } from './scan.js';

export {
  decodeImage, decodeImageBytes, decodeCount, DECODER_ID, IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS, MAX_IMAGE_FILE_BYTES,
} from './decode.js';
export { scanImageFolder, type FolderScan, type ImageEntry, type BadFile, type FolderSplit } from './scan.js';

export const DEFAULT_IMAGE_SIZE = 32;
/** Beyond this a dataset of a few thousand images no longer fits comfortably in memory. */
export const MAX_IMAGE_SIZE = 512;

export interface ImageFolderOptions {
  /** Images are resized to imageSize x imageSize (default 32; a multiple of 4, 8..512). */
  readonly imageSize?: number;
  /** Skip unreadable, corrupt and non-image files (counted in `skipped`) instead of failing. */
  readonly skipBad?: boolean;
  /** Decoded-image cache folder (default MFNAS_IMAGE_CACHE, else ~/.cache/mfnas/images). */
  readonly cacheDir?: string;
  /** Called while decoding (not on a cache hit): images done, images in all. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Refuse (DataError) a folder with more images than this (train and test together), before any
   * file is hashed or decoded: bounds the work and memory one open can cost (the queue worker).
   */
  readonly maxImages?: number;
  /** Refuse (DataError) right after hashing, before any decode, when the content key differs. */
  readonly expectFingerprint?: string;
}

/**
 * Throws an InputError unless `size` is a resolution the networks accept: they halve it twice
 * (two reduction blocks) before the global pool, so a multiple of 4, at least 8.
 */
export function checkImageSize(size: number, flag = '--image-size'): number {
  if (!Number.isSafeInteger(size) || size < 8 || size > MAX_IMAGE_SIZE || size % 4 !== 0) {
    throw new InputError(`${flag} must be a multiple of 4 from 8 to ${MAX_IMAGE_SIZE} (the networks halve it twice), ` +
      `got ${quoteInput(String(size))}; e.g. 32`);
  }
  return size;
}

/** Decoded content by key, for the life of the process (treat as read-only). */
const loaded = new Map<string, ImageCacheContent>();

/** How many decoded folders this process holds in memory (for tests and worker logs). */
export function imageFoldersInMemory(): number {
  return loaded.size;
}

/** Forget the decoded folders held in memory (the disk cache stays). */
export function clearImageFolderMemory(): void {
  loaded.clear();
}

/**
 * Forget one decoded folder held in memory, by its fingerprint (the disk cache stays, so a later
 * `loadFolderSplit` reads it back). Returns whether it was held.
 */
export function releaseImageFolder(fingerprint: string): boolean {
  return loaded.delete(fingerprint);
}

function checkImageCount(dir: string, count: number, maxImages: number | undefined): void {
  if (maxImages === undefined || count <= maxImages) return;
  throw new DataError(`the folder ${quotePath(dir)} holds ${count.toLocaleString('en-US')} images, over the limit of ` +
    `${maxImages.toLocaleString('en-US')}: use a smaller dataset folder or raise the limit`);
}

const SKIP_HINT = 'or pass --skip-bad to skip bad files';

function badFileError(dir: string, bad: BadFile, more: number): Error {
  const others = more > 0 ? ` (and ${more} more bad file${more === 1 ? '' : 's'})` : '';
  const where = quotePath(path.join(dir, bad.rel));
  if (bad.reason.startsWith('not ')) {
    return new InputError(`${where} is ${bad.reason}${others}: move it out of the dataset folder, ${SKIP_HINT}`);
  }
  return new DataError(`${where} ${bad.reason}${others}: replace or remove it, ${SKIP_HINT}`);
}

const READ_AS_IMAGE: RegularFileOptions = { what: 'the image', hint: 'give a PNG or JPEG file', maxBytes: MAX_IMAGE_FILE_BYTES };

/**
 * An image file's bytes, or why it cannot be read ("is a FIFO (named pipe), not a regular file",
 * "cannot be opened (EACCES)", over MAX_IMAGE_FILE_BYTES), through one descriptor on the thread pool.
 */
async function readImageFile(abs: string): Promise<Buffer | { reason: string }> {
  try {
    return await readRegularFile(abs, READ_AS_IMAGE);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    // The refusal reads `${what} ${path} ${why}: ${hint}`; a bad-file entry keeps the why.
    const prefix = `${READ_AS_IMAGE.what} ${quotePath(abs)} `;
    const suffix = `: ${READ_AS_IMAGE.hint}`;
    const m = e.message;
    return { reason: m.startsWith(prefix) && m.endsWith(suffix) ? m.slice(prefix.length, m.length - suffix.length) : m };
  }
}

/** Hashing and decoding hold a batch's files in memory: at most this many bytes of them (or one larger file). */
const BATCH_BYTES = 64 * 2 ** 20;
/** ... and at most this many files: a few at a time keep the disk and libuv's thread pool busy. */
const BATCH_FILES = 8;

/** Consecutive runs of entries within the batch limits (file order kept). */
function readBatches<T extends { bytes: number }>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [], bytes = 0;
  for (const e of entries) {
    if (batch.length > 0 && (batch.length === BATCH_FILES || bytes + e.bytes > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += e.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Entries with their sizes (0 when stat fails: reading them then says why), to batch the reads. */
async function withSizes<T extends ImageEntry>(entries: readonly T[]): Promise<Array<T & { bytes: number }>> {
  const sizes = await Promise.all(entries.map((e) => fs.promises.stat(e.abs).then((st) => st.size, () => 0)));
  return entries.map((e, i) => ({ ...e, bytes: sizes[i] }));
}

/** An image file as it was hashed into the content key. */
interface HashedEntry extends ImageEntry {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * The content key: decoder, size and every file's path, label and bytes. Reads asynchronously, so
 * that a caller's event loop (the queue worker renewing its locks) keeps running.
 */
async function hashFolder(
  entries: readonly ImageEntry[], notImages: readonly BadFile[], classNames: readonly string[], imageSize: number,
  unreadable: BadFile[],
): Promise<{ key: string; readable: HashedEntry[] }> {
  const h = createHash('sha256');
  h.update(`${DECODER_ID}\0${imageSize}\0${JSON.stringify(classNames)}\n`);
  const readable: HashedEntry[] = [];
  for (const batch of readBatches(await withSizes(entries))) {
    const contents = await Promise.all(batch.map((e) => readImageFile(e.abs)));
    batch.forEach((e, k) => {
      const c = contents[k];
      if (!Buffer.isBuffer(c)) {
        unreadable.push({ rel: e.rel, reason: c.reason });
        h.update(`${e.rel}\0unreadable\n`);
        return;
      }
      const sha256 = createHash('sha256').update(c).digest('hex');
      h.update(`${e.rel}\0${e.label}\0${sha256}\n`);
      readable.push({ ...e, bytes: c.length, sha256 });
    });
  }
  for (const b of notImages) h.update(`${b.rel}\0bad\n`);
  return { key: h.digest('hex'), readable };
}

/** Per-channel mean and population std of n x 3 x plane bytes, in 0..255 units. */
export function channelStats(pixels: Uint8Array, n: number, plane: number): { mean: [number, number, number]; std: [number, number, number] } {
  const mean: [number, number, number] = [0, 0, 0];
  const std: [number, number, number] = [0, 0, 0];
  const count = n * plane;
  for (let c = 0; c < 3; c++) {
    // Integer sums are exact in a double up to 2^53 (> 10^9 images of 512 x 512), so the
    // result does not depend on summation order.
    let s = 0, ss = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * 3 + c) * plane;
      for (let p = 0; p < plane; p++) { const v = pixels[base + p]; s += v; ss += v * v; }
    }
    mean[c] = s / count;
    const variance = Math.max(0, (ss - (s * s) / count) / count);
    // A constant channel would divide by zero; 1 leaves it merely centred.
    std[c] = variance > 0 ? Math.sqrt(variance) : 1;
  }
  return { mean, std };
}

async function decodeOne(dir: string, e: HashedEntry, imageSize: number): Promise<Uint8Array | BadFile> {
  const bytes = await readRegularFile(e.abs, READ_AS_IMAGE);
  // What is decoded is cached under the key of what was hashed: they must be the same bytes.
  if (createHash('sha256').update(bytes).digest('hex') !== e.sha256) {
    throw new DataError(`${quotePath(path.join(dir, e.rel))} changed while the folder was being read: run again once nothing writes to it`);
  }
  try {
    return await decodeImageBytes(bytes, imageSize);
  } catch (err) {
    if (!(err instanceof DecodeFailure)) throw err;
    return { rel: e.rel, reason: `cannot be decoded (${err.reason})` };
  }
}

async function decodeAll(
  dir: string, entries: readonly HashedEntry[], imageSize: number, skipBad: boolean,
  onProgress: ImageFolderOptions['onProgress'],
): Promise<{ splits: Record<FolderSplit, { pixels: Uint8Array[]; labels: number[] }>; corrupt: BadFile[] }> {
  const splits = { train: { pixels: [] as Uint8Array[], labels: [] as number[] }, test: { pixels: [] as Uint8Array[], labels: [] as number[] } };
  const corrupt: BadFile[] = [];
  let done = 0;
  for (const batch of readBatches(entries)) {
    // Results are placed in file order whatever order they finish in.
    const results = await Promise.all(batch.map((e) => decodeOne(dir, e, imageSize)));
    results.forEach((r, k) => {
      const e = batch[k];
      if (r instanceof Uint8Array) {
        splits[e.split].pixels.push(r);
        splits[e.split].labels.push(e.label);
      } else {
        corrupt.push(r);
      }
    });
    if (corrupt.length > 0 && !skipBad) throw badFileError(dir, corrupt[0], 0);
    done += batch.length;
    onProgress?.(done, entries.length);
  }
  return { splits, corrupt };
}

function joinSplit(s: { pixels: Uint8Array[]; labels: number[] }, imageBytes: number): CachedSplit {
  const pixels = new Uint8Array(s.pixels.length * imageBytes);
  s.pixels.forEach((p, i) => pixels.set(p, i * imageBytes));
  return { n: s.pixels.length, pixels, labels: Int32Array.from(s.labels) };
}

/**
 * Opens an image folder as a dataset: scans the layout, hashes the files, then loads the decoded
 * images from the disk cache or decodes them (and writes the cache). Throws an InputError /
 * DataError naming the file or folder for a bad layout or bad file (or, with `skipBad`, skips
 * bad files and counts them in `skipped`).
 */
export async function openImageFolder(dirText: string, options: ImageFolderOptions = {}): Promise<FolderDataset> {
  const imageSize = checkImageSize(options.imageSize ?? DEFAULT_IMAGE_SIZE);
  const skipBad = options.skipBad ?? false;
  const scan = scanImageFolder(dirText);
  const dir = scan.dir;
  if (scan.bad.length > 0 && !skipBad) throw badFileError(dir, scan.bad[0], scan.bad.length - 1);
  checkImageCount(dir, scan.train.length + (scan.test?.length ?? 0), options.maxImages);
  const unreadable: BadFile[] = [];
  const { key, readable } = await hashFolder([...scan.train, ...(scan.test ?? [])], scan.bad, scan.classNames, imageSize, unreadable);
  if (unreadable.length > 0 && !skipBad) throw badFileError(dir, unreadable[0], unreadable.length - 1);
  // A caller that knows what it wants (a queue worker matching the submitter's folder) stops
  // here, before paying for a decode of content it would refuse.
  if (options.expectFingerprint !== undefined && key !== options.expectFingerprint) {
    throw new DataError(`the image folder ${quotePath(dir)} has other content than expected (fingerprint ${key.slice(0, 12)}…, ` +
      `expected ${options.expectFingerprint.slice(0, 12)}…): give the same folder`);
  }

  const cacheFile = imageCacheFile(path.resolve(options.cacheDir ?? defaultImageCacheDir()), key);
  let content = loaded.get(key) ?? await readImageCacheAsync(cacheFile, key);
  if (!content) {
    const { splits, corrupt } = await decodeAll(dir, readable, imageSize, skipBad, options.onProgress);
    const imageBytes = 3 * imageSize * imageSize;
    const train = joinSplit(splits.train, imageBytes);
    content = {
      key, decoder: DECODER_ID, imageSize, classNames: scan.classNames, train,
      test: scan.test ? joinSplit(splits.test, imageBytes) : null,
      corrupt, ...channelStats(train.pixels, train.n, imageSize * imageSize),
    };
    try {
      writeImageCache(cacheFile, content);
    } catch (e) {
      // The run can go on from memory; only the next one pays for decoding again.
      process.stderr.write(`mfnas: ${(e as Error).message.split('\n')[0]} (the decoded images are not cached)\n`);
    }
  }
  if (content.corrupt.length > 0 && !skipBad) throw badFileError(dir, content.corrupt[0], content.corrupt.length - 1);

  const counts = new Int32Array(scan.classNames.length);
  for (const l of content.train.labels) counts[l]++;
  const empty = scan.classNames.findIndex((_, i) => counts[i] === 0);
  // Held in memory only once it is usable: a refused folder must not stay resident (a queue
  // worker cannot release what it never got back).
  if (empty < 0) loaded.set(key, content);
  else {
    throw new DataError(`the class folder ${quotePath(path.join(dir, 'train', scan.classNames[empty]))} has no usable images ` +
      'once the bad files are skipped: add images that decode or remove the folder');
  }
  const skippedFiles = [...scan.bad, ...unreadable, ...content.corrupt].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return {
    kind: 'folder', name: path.basename(dir), dir,
    classes: scan.classNames.length, classNames: [...scan.classNames],
    resolution: imageSize, imageSize, cropPadding: cropPaddingFor(imageSize),
    mean: content.mean, std: content.std,
    fingerprint: key, cacheFile,
    counts: { train: content.train.n, test: content.test ? content.test.n : null },
    skipped: skippedFiles.length,
    skippedExamples: skippedFiles.slice(0, 3).map((b) => `${b.rel}: ${b.reason}`),
  };
}

/**
 * The decoded images of one split of an opened folder dataset: from memory, else from its cache
 * file (as in a worker or after `clearImageFolderMemory`).
 */
export function loadFolderSplit(ds: FolderDataset, split: FolderSplit): CachedSplit {
  let content = loaded.get(ds.fingerprint);
  if (!content) {
    content = readImageCache(ds.cacheFile, ds.fingerprint) ?? undefined;
    if (!content) {
      throw new DataError(`the decoded images of ${quotePath(ds.dir)} are missing from the cache ${quotePath(ds.cacheFile)}; ` +
        'open the dataset again (it decodes and caches them)');
    }
    loaded.set(ds.fingerprint, content);
  }
  if (split === 'test') {
    if (!content.test) throw new InputError(`${quotePath(ds.dir)} has no test/ folder; add DIR/test/<class>/ images or use the train split`);
    return content.test;
  }
  return content.train;
}

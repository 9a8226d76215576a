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
import { cropPaddingFor, type FolderDataset } from '../registry.js';
import { imageCacheFile, readImageCache, writeImageCache, type CachedSplit, type ImageCacheContent } from './cache.js';
import { DecodeFailure, DECODER_ID, decodeImageBytes } from './decode.js';
import { scanImageFolder, type BadFile, type ImageEntry, type FolderSplit } from './scan.js';

export { decodeImage, decodeImageBytes, decodeCount, DECODER_ID, IMAGE_EXTENSIONS } from './decode.js';
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

/** Forget the decoded folders held in memory (the disk cache stays). */
export function clearImageFolderMemory(): void {
  loaded.clear();
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

/** The content key: decoder, size and every file's path, label and bytes. */
function hashFolder(
  entries: readonly ImageEntry[], notImages: readonly BadFile[], classNames: readonly string[], imageSize: number,
  unreadable: BadFile[],
): { key: string; readable: ImageEntry[] } {
  const h = createHash('sha256');
  h.update(`${DECODER_ID}\0${imageSize}\0${JSON.stringify(classNames)}\n`);
  const readable: ImageEntry[] = [];
  for (const e of entries) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(e.abs);
    } catch (err) {
      const reason = `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      unreadable.push({ rel: e.rel, reason });
      h.update(`${e.rel}\0unreadable\n`);
      continue;
    }
    h.update(`${e.rel}\0${e.label}\0${createHash('sha256').update(bytes).digest('hex')}\n`);
    readable.push(e);
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

async function decodeAll(
  dir: string, entries: readonly ImageEntry[], imageSize: number, skipBad: boolean,
  onProgress: ImageFolderOptions['onProgress'],
): Promise<{ splits: Record<FolderSplit, { pixels: Uint8Array[]; labels: number[] }>; corrupt: BadFile[] }> {
  const splits = { train: { pixels: [] as Uint8Array[], labels: [] as number[] }, test: { pixels: [] as Uint8Array[], labels: [] as number[] } };
  const corrupt: BadFile[] = [];
  // sharp decodes on libuv's thread pool; a few at a time keeps it busy. Results are placed in
  // file order whatever order they finish in.
  const CHUNK = 8;
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    const results = await Promise.allSettled(chunk.map((e) => decodeImageBytes(fs.readFileSync(e.abs), imageSize)));
    results.forEach((r, k) => {
      const e = chunk[k];
      if (r.status === 'fulfilled') {
        splits[e.split].pixels.push(r.value);
        splits[e.split].labels.push(e.label);
        return;
      }
      if (!(r.reason instanceof DecodeFailure)) throw r.reason;
      corrupt.push({ rel: e.rel, reason: `cannot be decoded (${r.reason.reason})` });
    });
    if (corrupt.length > 0 && !skipBad) throw badFileError(dir, corrupt[0], 0);
    onProgress?.(Math.min(i + CHUNK, entries.length), entries.length);
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
  const unreadable: BadFile[] = [];
  const { key, readable } = hashFolder([...scan.train, ...(scan.test ?? [])], scan.bad, scan.classNames, imageSize, unreadable);
  if (unreadable.length > 0 && !skipBad) throw badFileError(dir, unreadable[0], unreadable.length - 1);

  const cacheFile = imageCacheFile(path.resolve(options.cacheDir ?? defaultImageCacheDir()), key);
  let content = loaded.get(key) ?? readImageCache(cacheFile, key);
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
  loaded.set(key, content);

  const counts = new Int32Array(scan.classNames.length);
  for (const l of content.train.labels) counts[l]++;
  const empty = scan.classNames.findIndex((_, i) => counts[i] === 0);
  if (empty >= 0) {
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

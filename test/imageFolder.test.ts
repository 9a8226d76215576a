/**
 * A user's own image folder as a dataset: decoding, the layout rules, class order, the
 * normalisation statistics, the content-keyed disk cache, every error case, the networks, the
 * score cache and the CLI (`score`, `search`). Folders are built in a temp dir from real CIFAR-10
 * records of ../shared/data, written as PNG (lossless, so decoded pixels can be compared exactly)
 * and a few JPEGs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { CIFAR10_FORMAT, readCifarFile } from '../src/datasets/cifar.js';
import {
  channelStats, clearImageSetCache, decodeImage, loadImageSet, makeProxyBatches, openImageFolder, resolveDataset,
  datasetKey, type FolderDataset,
} from '../src/datasets/index.js';
import { decodeCount } from '../src/datasets/imageFolder/decode.js';
import { buildNetworkSpec } from '../src/spaces/network.js';
import { countParams } from '../src/networks/cost.js';
import { openScoringSession } from '../src/scoring/session.js';
import { ScoreCache } from '../src/storage/scoreCache.js';
import { DataError, InputError } from '../src/util/errors.js';
import { openDataset } from '../src/index.js';
import { DATA, runCli } from './helpers/cli.js';

const CIFAR = readCifarFile(path.join(DATA, 'cifar-10-batches-bin', 'data_batch_1.bin'), CIFAR10_FORMAT);
const CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

let tmp: string;
let cacheDir: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-image-folder-'));
  cacheDir = path.join(tmp, 'image-cache');
  // Nothing here may touch ~/.cache: the default cache folder follows this variable.
  process.env.MFNAS_IMAGE_CACHE = path.join(tmp, 'default-image-cache');
});
afterAll(() => {
  clearImageSetCache();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let folderCount = 0;
const newDir = (name = 'ds') => path.join(tmp, `${name}-${++folderCount}`);

/** The CIFAR record of image `i` as R, G, B planes. */
const cifarPlanes = (i: number) => CIFAR.pixels.subarray(i * 3072, (i + 1) * 3072);

/** Indices of the first `count` CIFAR images of class `label`, after skipping `skip` of them. */
function cifarOfClass(label: number, count: number, skip = 0): number[] {
  const out: number[] = [];
  for (let i = 0, seen = 0; i < CIFAR.n && out.length < count; i++) {
    if (CIFAR.labels[i] !== label) continue;
    if (seen++ >= skip) out.push(i);
  }
  return out;
}

/** A PNG of channel planes (3 x h x w), with an optional alpha plane. */
function writePng(file: string, planes: Uint8Array, w: number, h: number, alpha?: (p: number) => number): void {
  const png = new PNG({ width: w, height: h });
  const plane = w * h;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) png.data[p * 4 + c] = planes[c * plane + p];
    png.data[p * 4 + 3] = alpha ? alpha(p) : 255;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

async function writeJpeg(file: string, planes: Uint8Array, w: number, h: number): Promise<void> {
  const plane = w * h;
  const rgb = Buffer.alloc(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = planes[c * plane + p];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toBuffer());
}

interface Built {
  dir: string;
  /** Per split, the CIFAR indices in the order the dataset must list them (label-major, by file name). */
  order: { train: number[]; test: number[] };
}

/**
 * A folder of PNGs from CIFAR: `classes` are CIFAR labels (named by CIFAR's class names), `perClass`
 * train images and `testPerClass` test images each.
 */
function buildFolder(classes: number[], perClass: number, testPerClass = 0): Built {
  const dir = newDir();
  const names = classes.map((l) => CLASS_NAMES[l]);
  const sorted = [...names].sort();
  const order = { train: [] as number[], test: [] as number[] };
  for (const name of sorted) {
    const label = CLASS_NAMES.indexOf(name);
    const idx = cifarOfClass(label, perClass + testPerClass);
    idx.forEach((i, k) => {
      const split = k < perClass ? 'train' : 'test';
      // Zero-padded names: the sorted file order is the order written here.
      writePng(path.join(dir, split, name, `img${String(k).padStart(3, '0')}.png`), cifarPlanes(i), 32, 32);
      order[split].push(i);
    });
  }
  return { dir, order };
}

async function expectError(p: Promise<unknown>, type: typeof InputError | typeof DataError, ...fragments: string[]): Promise<string> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${type.name} with ${fragments.join(', ')}`).toBeInstanceOf(type);
  const msg = (err as Error).message;
  for (const f of fragments) expect(msg).toContain(f);
  expect(msg).not.toContain('\n');
  return msg;
}

// ------------------------------------------------------------------ decoding

describe('decodeImage', () => {
  it('gives the exact pixels of a PNG already at the size, as R, G, B planes (alpha dropped)', async () => {
    const planes = Uint8Array.from({ length: 3 * 32 * 32 }, (_, i) => (i * 37 + 11) % 256);
    const file = path.join(newDir('png'), 'a.png');
    writePng(file, planes, 32, 32, (p) => (p * 7) % 256); // alpha varies: it must not leak into the colours
    expect(Buffer.from(await decodeImage(file, 32)).equals(Buffer.from(planes))).toBe(true);
  });

  it('copies a grey PNG into three equal planes', async () => {
    const file = path.join(newDir('grey'), 'g.png');
    const grey = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i * 13) % 256);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, await sharp(Buffer.from(grey), { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toBuffer());
    expect((await sharp(file).metadata()).channels).toBe(1);
    const out = await decodeImage(file, 16);
    for (let c = 0; c < 3; c++) expect(Buffer.from(out.subarray(c * 256, (c + 1) * 256)).equals(Buffer.from(grey))).toBe(true);
  });

  it('decodes a JPEG close to its source pixels (lossy), in the same plane layout', async () => {
    const i = cifarOfClass(3, 1)[0];
    const file = path.join(newDir('jpeg'), 'c.jpg');
    await writeJpeg(file, cifarPlanes(i), 32, 32);
    const out = await decodeImage(file, 32);
    let err = 0;
    for (let k = 0; k < out.length; k++) err += Math.abs(out[k] - cifarPlanes(i)[k]);
    expect(err / out.length).toBeLessThan(4);
    // Deterministic: the same file gives the same bytes.
    expect(Buffer.from(await decodeImage(file, 32)).equals(Buffer.from(out))).toBe(true);
  });

  it.each([
    ['with alpha (two sharp passes)', true],
    ['without alpha (one pass)', false],
  ])('resizes a 48x40 image %s by its shorter side and crops the centre (a linear ramp stays on the predicted line)', async (_, alpha) => {
    const W = 48, H = 40, S = 32;
    const planes = new Uint8Array(3 * W * H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        planes[y * W + x] = 5 * x; // R ramps along x
        planes[W * H + y * W + x] = 6 * y; // G ramps along y
        planes[2 * W * H + y * W + x] = 100;
      }
    }
    const file = path.join(newDir('ramp'), 'r.png');
    if (alpha) {
      writePng(file, planes, W, H);
    } else {
      const rgb = Buffer.alloc(3 * W * H);
      for (let p = 0; p < W * H; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = planes[c * W * H + p];
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
    }
    expect((await sharp(file).metadata()).hasAlpha).toBe(alpha);
    const out = await decodeImage(file, S);
    // Shorter side 40 -> 32: the width becomes round(48 * 32 / 40) = 38, of which the centre 32
    // columns are kept (3 cut on each side). Output pixel j samples source x = (j + 3 + 0.5) * 48/38 - 0.5.
    const resizedW = Math.round((W * S) / H), cut = (resizedW - S) / 2;
    let worst = 0, worstSquash = 0;
    for (let y = 2; y < S - 2; y++) { // the top/bottom rows meet the image border
      for (let j = 0; j < S; j++) {
        const r = out[y * S + j];
        const expectR = 5 * ((j + cut + 0.5) * (W / resizedW) - 0.5);
        const squashR = 5 * ((j + 0.5) * (W / S) - 0.5);
        worst = Math.max(worst, Math.abs(r - expectR));
        worstSquash = Math.max(worstSquash, Math.abs(r - squashR));
        const g = out[S * S + y * S + j];
        expect(Math.abs(g - 6 * ((y + 0.5) * (H / S) - 0.5))).toBeLessThanOrEqual(2);
        expect(out[2 * S * S + y * S + j]).toBe(100);
      }
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(worstSquash).toBeGreaterThan(10); // the check can tell cover from squash
  });

  it('names an undecodable file in a one-line DataError', async () => {
    const file = path.join(newDir('bad'), 'broken.png');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'not a png');
    await expectError(decodeImage(file, 32), DataError, 'broken.png', 'cannot decode');
    await expectError(decodeImage(path.join(tmp, 'missing.png'), 32), DataError, 'missing.png', 'ENOENT');
  });
});

// ------------------------------------------------------------------ the dataset

describe('openImageFolder', () => {
  let built: Built;
  let ds: FolderDataset;
  beforeAll(async () => {
    // Given in a non-sorted order: labels must follow the sorted folder names.
    built = buildFolder([3, 0, 2], 8, 2);
    ds = await openImageFolder(built.dir, { cacheDir });
  });

  it('takes classes from the folder names, sorted, with the images in label-then-name order', () => {
    expect(ds.kind).toBe('folder');
    expect(ds.classNames).toEqual(['airplane', 'bird', 'cat']);
    expect(ds.classes).toBe(3);
    expect(ds.resolution).toBe(32);
    expect(ds.cropPadding).toBe(4);
    expect(ds.counts).toEqual({ train: 24, test: 6 });
    expect(ds.skipped).toBe(0);
    for (const split of ['train', 'test'] as const) {
      const set = loadImageSet(ds, { split });
      const order = built.order[split];
      expect(set.n).toBe(order.length);
      const expectedLabels = order.map((i) => ds.classNames.indexOf(CLASS_NAMES[CIFAR.labels[i]]));
      expect(Array.from(set.labels)).toEqual(expectedLabels);
      // PNG is lossless and the size matches: the pixels are CIFAR's own bytes.
      const expected = new Uint8Array(order.length * 3072);
      order.forEach((i, k) => expected.set(cifarPlanes(i), k * 3072));
      expect(Buffer.from(set.pixels).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('computes the normalisation statistics of the training images (0..255 units)', () => {
    const set = loadImageSet(ds, { split: 'train' });
    for (let c = 0; c < 3; c++) {
      // Two-pass mean and variance, independent of the single-pass sums in channelStats.
      let sum = 0, count = 0;
      for (let i = 0; i < set.n; i++) for (let p = 0; p < 1024; p++) { sum += set.pixels[i * 3072 + c * 1024 + p]; count++; }
      const mean = sum / count;
      let sq = 0;
      for (let i = 0; i < set.n; i++) for (let p = 0; p < 1024; p++) sq += (set.pixels[i * 3072 + c * 1024 + p] - mean) ** 2;
      expect(ds.mean[c]).toBeCloseTo(mean, 9);
      expect(ds.std[c]).toBeCloseTo(Math.sqrt(sq / count), 9);
    }
    // The proxy batches normalise with them: a plain batch has per-channel mean ~0 over all images.
    const [batch] = makeProxyBatches(loadImageSet(ds), { batchSize: 24, batches: 1, seed: 0, augment: false });
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = c; k < batch.x.length; k += 3) s += batch.x[k];
      expect(Math.abs(s / (batch.x.length / 3))).toBeLessThan(1e-5);
    }
  });

  it('gives 1 as the std of a constant channel (never a division by zero)', () => {
    const px = new Uint8Array(2 * 3 * 4).fill(7);
    expect(channelStats(px, 2, 4)).toEqual({ mean: [7, 7, 7], std: [1, 1, 1] });
  });

  it('reads the second open from the disk cache without decoding', async () => {
    expect(fs.existsSync(ds.cacheFile)).toBe(true);
    expect(path.dirname(ds.cacheFile)).toBe(cacheDir);
    const before = decodeCount();
    clearImageSetCache(); // drop the in-memory copy: only the file can serve it now
    const again = await openImageFolder(built.dir, { cacheDir });
    expect(decodeCount()).toBe(before);
    expect(again).toEqual(ds);
    expect(Buffer.from(loadImageSet(again).pixels).equals(Buffer.from(loadImageSet(ds).pixels))).toBe(true);
  });

  it('decodes again after any change: another fingerprint, another score-cache key', async () => {
    const copy = newDir('copy');
    fs.cpSync(built.dir, copy, { recursive: true });
    const same = await openImageFolder(copy, { cacheDir });
    expect(same.fingerprint).toBe(ds.fingerprint); // keyed by content, not by place
    const victim = path.join(copy, 'train', 'cat', 'img000.png');
    writePng(victim, cifarPlanes(cifarOfClass(3, 1, 20)[0]), 32, 32);
    const before = decodeCount();
    const changed = await openImageFolder(copy, { cacheDir });
    expect(decodeCount()).toBeGreaterThan(before);
    expect(changed.fingerprint).not.toBe(ds.fingerprint);
    expect(datasetKey(changed)).not.toBe(datasetKey(ds));
    const resized = await openImageFolder(built.dir, { cacheDir, imageSize: 16 });
    expect(resized.fingerprint).not.toBe(ds.fingerprint);
    expect(resized.resolution).toBe(16);
    expect(resized.cropPadding).toBe(2);
    expect(loadImageSet(resized).pixels.length).toBe(24 * 3 * 16 * 16);
  });

  it('ignores a damaged cache file and rewrites it', async () => {
    const d = buildFolder([1, 5], 3);
    const first = await openImageFolder(d.dir, { cacheDir });
    const bytes = fs.readFileSync(first.cacheFile);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(first.cacheFile, bytes);
    clearImageSetCache();
    const before = decodeCount();
    const second = await openImageFolder(d.dir, { cacheDir });
    expect(decodeCount()).toBe(before + 6);
    expect(Buffer.from(loadImageSet(second).pixels).equals(Buffer.from(loadImageSet(first).pixels))).toBe(true);
  });

  it('takes JPEGs (any case of the extension) and images of other sizes, and ignores hidden files', async () => {
    const d = buildFolder([0, 1], 3);
    await writeJpeg(path.join(d.dir, 'train', 'airplane', 'photo.JPG'), cifarPlanes(cifarOfClass(0, 1, 10)[0]), 32, 32);
    const big = new Uint8Array(3 * 48 * 40).map((_, i) => i % 251);
    writePng(path.join(d.dir, 'train', 'automobile', 'sub', 'wide.png'), big, 48, 40);
    fs.writeFileSync(path.join(d.dir, 'train', 'airplane', '.DS_Store'), 'junk');
    fs.mkdirSync(path.join(d.dir, 'train', '.git'));
    fs.writeFileSync(path.join(d.dir, 'README.txt'), 'beside train/: ignored');
    const opened = await openImageFolder(d.dir, { cacheDir });
    expect(opened.classNames).toEqual(['airplane', 'automobile']);
    expect(opened.counts.train).toBe(8);
    expect(opened.counts.test).toBeNull();
    expect(Array.from(loadImageSet(opened).labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    await expectError(Promise.resolve().then(() => loadImageSet(opened, { split: 'test' })), InputError, 'no test/ folder');
  });
});

// ------------------------------------------------------------------ errors

describe('image folder errors', () => {
  it('refuses a folder without train/', async () => {
    const dir = newDir('notrain');
    fs.mkdirSync(path.join(dir, 'cats'), { recursive: true });
    await expectError(openImageFolder(dir, { cacheDir }), InputError, 'no train/ folder', 'DIR/train/<class>');
  });

  it('refuses a single class, and an empty class folder', async () => {
    const one = buildFolder([2], 3);
    await expectError(openImageFolder(one.dir, { cacheDir }), InputError, 'at least 2 class folders', '"bird"');
    const empty = buildFolder([2, 4], 3);
    fs.mkdirSync(path.join(empty.dir, 'train', 'zebra'));
    await expectError(openImageFolder(empty.dir, { cacheDir, skipBad: true }), InputError, 'zebra', 'has no images');
  });

  it('refuses a test class that train/ lacks, and a test/ without classes', async () => {
    const d = buildFolder([2, 4], 3, 1);
    writePng(path.join(d.dir, 'test', 'ship', 'x.png'), cifarPlanes(0), 32, 32);
    await expectError(openImageFolder(d.dir, { cacheDir }), InputError, 'ship', 'no counterpart in train/');
    const e = buildFolder([2, 4], 3);
    fs.mkdirSync(path.join(e.dir, 'test'));
    await expectError(openImageFolder(e.dir, { cacheDir }), InputError, 'test', 'has no class folders');
  });

  it('names a corrupt image, or skips it with skipBad and counts it', async () => {
    const d = buildFolder([6, 7], 4);
    const bad = path.join(d.dir, 'train', 'frog', 'img001.png');
    fs.writeFileSync(bad, fs.readFileSync(bad).subarray(0, 200)); // truncated
    await expectError(openImageFolder(d.dir, { cacheDir }), DataError, 'frog/img001.png', 'cannot be decoded', '--skip-bad');
    const skipped = await openImageFolder(d.dir, { cacheDir, skipBad: true });
    expect(skipped.skipped).toBe(1);
    expect(skipped.skippedExamples[0]).toContain('train/frog/img001.png');
    expect(skipped.counts.train).toBe(7);
    // The cache remembers the bad file: without skipBad it is still an error, without decoding.
    clearImageSetCache();
    const before = decodeCount();
    await expectError(openImageFolder(d.dir, { cacheDir }), DataError, 'frog/img001.png');
    expect(decodeCount()).toBe(before);
  });

  it('names a non-image file, or skips it with skipBad', async () => {
    const d = buildFolder([6, 7], 2);
    fs.writeFileSync(path.join(d.dir, 'train', 'horse', 'notes.txt'), 'hello');
    fs.writeFileSync(path.join(d.dir, 'train', 'loose.png'), 'x');
    await expectError(openImageFolder(d.dir, { cacheDir }), InputError, 'horse/notes.txt', 'not a .png/.jpg/.jpeg image', '1 more bad file');
    const skipped = await openImageFolder(d.dir, { cacheDir, skipBad: true });
    expect(skipped.skipped).toBe(2);
    expect(skipped.counts.train).toBe(4);
  });

  it('names an unreadable file (a dangling link), or skips it with skipBad', async () => {
    const d = buildFolder([6, 7], 2);
    fs.symlinkSync(path.join(tmp, 'gone.png'), path.join(d.dir, 'train', 'frog', 'link.png'));
    await expectError(openImageFolder(d.dir, { cacheDir }), DataError, 'frog/link.png', 'cannot be read', '--skip-bad');
    expect((await openImageFolder(d.dir, { cacheDir, skipBad: true })).skipped).toBe(1);
  });

  it('refuses a class left empty by skipping', async () => {
    const d = buildFolder([8, 9], 2);
    for (const f of fs.readdirSync(path.join(d.dir, 'train', 'ship'))) fs.writeFileSync(path.join(d.dir, 'train', 'ship', f), 'x');
    await expectError(openImageFolder(d.dir, { cacheDir, skipBad: true }), DataError, 'ship', 'no usable images');
  });

  it('refuses image sizes the networks cannot take', async () => {
    const d = buildFolder([0, 1], 2);
    for (const size of [30, 4, 0, 1024, 32.5]) {
      await expectError(openImageFolder(d.dir, { cacheDir, imageSize: size }), InputError, '--image-size', 'multiple of 4');
    }
  });

  it('resolves names, folders and nonsense', async () => {
    expect((await resolveDataset('CIFAR-10')).name).toBe('cifar10');
    await expectError(resolveDataset('cifar10', { imageSize: 64 }), InputError, '--image-size', 'applies to image folders');
    const d = buildFolder([0, 1], 2);
    const opened = await resolveDataset(d.dir, { cacheDir });
    expect(opened.kind).toBe('folder');
    expect(await resolveDataset(opened)).toBe(opened);
    await expectError(resolveDataset('cifar11'), InputError, 'unknown dataset', 'cifar10, cifar100', 'image folder');
    await expectError(resolveDataset(path.join(tmp, 'nowhere')), InputError, 'no folder', 'nowhere', 'cifar10');
    const ds = await openDataset(d.dir, { imageCache: cacheDir, imageSize: 16 });
    expect(ds.resolution).toBe(16);
  });
});

// ------------------------------------------------------------------ networks and scores

describe('folder datasets downstream', () => {
  let ds: FolderDataset;
  let built: Built;
  beforeAll(async () => {
    built = buildFolder([0, 1, 2], 8);
    ds = await openImageFolder(built.dir, { cacheDir, imageSize: 16 });
  });

  it('builds networks with the folder\'s classes and resolution', () => {
    const tss = buildNetworkSpec('tss', '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|', ds);
    expect(tss.classes).toBe(3);
    expect(tss.resolution).toBe(16);
    expect(tss.dataset).toBe(ds.name);
    expect(tss.stem.conv.inSize).toBe(16);
    expect(tss.classifier.out).toBe(3);
    const c10 = buildNetworkSpec('tss', '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|', 'cifar10');
    // Only the classifier differs from CIFAR-10's: 64 inputs x (10 - 3) weights + (10 - 3) biases.
    expect(countParams(c10) - countParams(tss)).toBe(7 * 64 + 7);
    const sss = buildNetworkSpec('sss', '8:16:24:32:40', ds);
    expect(sss.classifier.out).toBe(3);
    expect(() => buildNetworkSpec('sss', '8:8:8:8:8', { ...ds, resolution: 18 })).toThrow(InputError);
  });

  it('keys scores by the folder content: a rerun hits the score cache, a changed folder does not', async () => {
    const cache = new ScoreCache(':memory:');
    const open = (d: FolderDataset) => openScoringSession({ space: 'sss', dataset: d, batch: 8, batches: 2, cache, workers: 1 });
    try {
      const s1 = await open(ds);
      const first = await s1.scorer.score('8:8:8:8:8', ['intgrad_param', 'intgrad_mean']);
      await s1.close();
      expect(first.cached).toBe(false);
      expect(Number.isFinite(first.scores.intgrad_param)).toBe(true);
      const s2 = await open(ds);
      const again = await s2.scorer.score('8:8:8:8:8', ['intgrad_param', 'intgrad_mean']);
      await s2.close();
      expect(again.cached).toBe(true);
      expect(again.scores).toEqual(first.scores);

      const copy = newDir('changed');
      fs.cpSync(built.dir, copy, { recursive: true });
      writePng(path.join(copy, 'train', 'bird', 'img007.png'), cifarPlanes(cifarOfClass(2, 1, 30)[0]), 32, 32);
      const changed = await openImageFolder(copy, { cacheDir, imageSize: 16 });
      const s3 = await open(changed);
      const other = await s3.scorer.score('8:8:8:8:8', ['intgrad_param', 'intgrad_mean']);
      await s3.close();
      expect(other.cached).toBe(false);
    } finally {
      cache.close();
    }
  });
});

// ------------------------------------------------------------------ CLI

describe('mfnas with --dataset DIR', () => {
  let built: Built;
  let env: Record<string, string>;
  beforeAll(async () => {
    built = buildFolder([4, 5, 6], 8);
    env = { MFNAS_IMAGE_CACHE: path.join(tmp, 'cli-image-cache') };
    // Decoded here, so the commands below must find it in the disk cache.
    await openImageFolder(built.dir, { cacheDir: env.MFNAS_IMAGE_CACHE });
  });

  it('score: exit 0 with scores', async () => {
    const r = await runCli(['score', '--space', 'sss', '--dataset', built.dir, '--arch', '8:8:8:8:8', '--batch', '8', '--no-cache', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('decode images'); // another process decoded it: read from the disk cache
    const out = JSON.parse(r.stdout);
    expect(out.arch).toBe('8:8:8:8:8');
    expect(Number.isFinite(out.scores.intgrad_param)).toBe(true);
  });

  it('search: exit 0, outputs without accuracies', async () => {
    const out = path.join(tmp, 'search-out');
    const r = await runCli(['search', '--dataset', built.dir, '--population', '4', '--tournament', '2', '--steps', '2',
      '--batch', '8', '--workers', '2', '--no-cache', '--out', out, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('decode images');
    const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(result.dataset).toBe(built.dir);
    expect(result.folder.classNames).toEqual(['deer', 'dog', 'frog']);
    expect(result.folder.imageSize).toBe(32);
    expect(result.folder.mean).toHaveLength(3);
    expect(result.runs[0].best.accuracy).toBeNull();
    expect(result.summary.accuracyMean).toBeNull();
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('No benchmark accuracies');
    expect(html).not.toContain('Proxy vs accuracy');
  });

  it('exit 2 with one line for a bad folder; --skip-bad says what it skipped', async () => {
    const d = buildFolder([4, 5], 4);
    const bad = path.join(d.dir, 'train', 'dog', 'img002.png');
    fs.writeFileSync(bad, 'garbage');
    const args = ['score', '--space', 'sss', '--dataset', d.dir, '--arch', '8:8:8:8:8', '--batch', '3', '--no-cache'];
    const r = await runCli(args, env);
    expect(r.code).toBe(2);
    const errorLines = r.stderr.trim().split('\n').filter((l) => l.startsWith('mfnas:'));
    expect(errorLines).toHaveLength(1);
    expect(r.stderr).toContain('dog/img002.png');
    expect(r.stderr).toContain('--skip-bad');
    const skipped = await runCli([...args, '--skip-bad'], env);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain('decode images: 8/8'); // progress on stderr while decoding
    expect(skipped.stderr).toContain('skipped 1 bad file');
    expect(skipped.stderr).toContain('7 training images remain');
    const missing = await runCli(['score', '--dataset', path.join(tmp, 'no-such-dir'), '--arch', '0', '--space', 'sss'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no folder');
    const size = await runCli([...args, '--image-size', '30'], env);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('multiple of 4');
  });
});

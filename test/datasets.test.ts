import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, InputError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import {
  clearImageSetCache,
  loadImageSet,
  makeProxyBatches,
  nchwToNhwc,
  normalise,
  requireDataDir,
  resolveDataDir,
  transformImage,
  type ImageSet,
} from '../src/datasets/index.js';
import { loadCifar } from '../src/datasets/cifar.js';
import { downsampleBatch } from '../src/datasets/batches.js';
import { classNames } from '../src/datasets/classNames.js';
import { datasetInfo, type FolderDataset } from '../src/datasets/registry.js';
import { loadImageNet16, parseImageNet16Pickle } from '../src/datasets/imagenet16.js';
import { ALLOWED_GLOBALS } from '../src/datasets/pickle.js';
import { unpickle as unpickleNats } from '../src/natsbench/import/pickle.js';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DATA = resolve(REPO, '../shared/data');
const C10 = join(DATA, 'cifar-10-batches-bin');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'mfnas-datasets-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Expect `fn` to throw a DataError whose message contains every fragment. */
function expectDataError(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataError);
  for (const f of fragments) expect((err as Error).message).toContain(f);
}

// ---------------------------------------------------------------------------------------------
// A tiny pickle writer (protocol 2, as Python 2 wrote the original ImageNet16 files: the array
// bytes are a BINSTRING), written here from the pickle opcode table, independent of the loader.
function pyStr(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from('T'), len, b]); // BINSTRING
}
function pyUni(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from('X'), len, b]); // BINUNICODE
}
function pyInt(v: number): Buffer {
  if (v >= 0 && v < 256) return Buffer.from([0x4b, v]); // BININT1
  if (v >= 0 && v < 65536) return Buffer.from([0x4d, v & 255, v >> 8]); // BININT2
  const b = Buffer.alloc(5);
  b[0] = 0x4a; // BININT
  b.writeInt32LE(v, 1);
  return b;
}
const op = (s: string) => Buffer.from(s, 'latin1');
function imagenetPickle(shape: [number, number], data: Uint8Array, labels: number[], fortran = false, extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    Buffer.from([0x80, 2]), op('}'), op('('), ...extra,
    pyUni('data'),
    op('cnumpy.core.multiarray\n_reconstruct\n'), op('cnumpy\nndarray\n'), pyInt(0), Buffer.from([0x85]),
    pyStr('b'), Buffer.from([0x87]), op('R'),
    op('('), pyInt(1), pyInt(shape[0]), pyInt(shape[1]), Buffer.from([0x86]),
    op('cnumpy\ndtype\n'), pyStr('u1'), pyInt(0), pyInt(1), Buffer.from([0x87]), op('R'),
    op('('), pyInt(3), pyStr('|'), op('NNN'), pyInt(-1), pyInt(-1), pyInt(0), op('t'), op('b'),
    Buffer.from([fortran ? 0x88 : 0x89]), pyStr(Buffer.from(data).toString('latin1')), op('t'), op('b'),
    pyUni('labels'), op(']'), op('('), ...labels.map(pyInt), op('e'),
    op('u'), op('.'),
  ]);
}

// ---------------------------------------------------------------------------------------------
describe('data directory', () => {
  it('prefers --data-dir, then MFNAS_DATA_DIR, then ../shared/data from the cwd', () => {
    const a = join(tmp, 'a');
    const b = join(tmp, 'b');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    expect(resolveDataDir({ dataDir: a, env: { MFNAS_DATA_DIR: b } })).toBe(a);
    expect(resolveDataDir({ env: { MFNAS_DATA_DIR: b } })).toBe(b);
    expect(resolveDataDir({ env: {}, cwd: REPO, packageRoot: null })).toBe(DATA);
    // From an unrelated directory, the package root (this repo) still finds ../shared/data.
    expect(resolveDataDir({ env: {}, cwd: a })).toBe(DATA);
    expect(resolveDataDir({ env: {}, cwd: a, packageRoot: null })).toBeNull();
  });

  it('requireDataDir explains where it looked and how to fix it', () => {
    const nowhere = join(tmp, 'a');
    mkdirSync(nowhere, { recursive: true });
    expectDataError(
      () => requireDataDir({ env: {}, cwd: nowhere, packageRoot: null }),
      resolve(nowhere, '../shared/data'), '--data-dir', 'MFNAS_DATA_DIR', 'mfnas data fetch',
    );
    const missing = join(tmp, 'does-not-exist');
    expectDataError(() => requireDataDir({ dataDir: missing }), missing, '--data-dir');
    expectDataError(() => requireDataDir({ env: { MFNAS_DATA_DIR: missing } }), missing, 'MFNAS_DATA_DIR');
    expect(requireDataDir({ dataDir: DATA })).toBe(DATA);
  });
});

// ---------------------------------------------------------------------------------------------
describe('CIFAR binary files', () => {
  it('loads CIFAR-10 train (10,000, 1,000 per class) and test (5,000, 500 per class)', () => {
    const train = loadImageSet('cifar10', { dataDir: DATA, split: 'train' });
    expect(train.n).toBe(10_000);
    expect(train.resolution).toBe(32);
    expect(train.pixels.length).toBe(10_000 * 3072);
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));

    const test = loadImageSet('cifar10', { dataDir: DATA, split: 'test' });
    expect(test.n).toBe(5_000);
    const tc = new Array(10).fill(0);
    for (const l of test.labels) tc[l]++;
    expect(tc).toEqual(new Array(10).fill(500));
  });

  it('matches the raw bytes of the first and last records', () => {
    const raw = readFileSync(join(C10, 'data_batch_1.bin'));
    const set = loadImageSet('cifar10', { dataDir: DATA });
    expect(set.labels[0]).toBe(raw[0]);
    expect(Buffer.from(set.pixels.subarray(0, 3072)).equals(raw.subarray(1, 3073))).toBe(true);
    const last = 9999 * 3073;
    expect(set.labels[9999]).toBe(raw[last]);
    expect(Buffer.from(set.pixels.subarray(9999 * 3072)).equals(raw.subarray(last + 1, last + 3073))).toBe(true);
  });

  it('loads the CIFAR-100 sample with fine labels (960 images, all 100 classes)', () => {
    const raw = readFileSync(join(DATA, 'cifar-100-binary', 'train.bin'));
    const set = loadImageSet('cifar100', { dataDir: DATA });
    expect(set.n).toBe(960);
    expect(new Set(set.labels).size).toBe(100);
    expect(Math.min(...set.labels)).toBe(0);
    expect(Math.max(...set.labels)).toBe(99);
    // Record 0: coarse byte, fine byte, pixels.
    expect(set.labels[0]).toBe(raw[1]);
    expect(Buffer.from(set.pixels.subarray(0, 3072)).equals(raw.subarray(2, 3074))).toBe(true);
    // Fine, not coarse: coarse labels only go up to 19.
    let coarseDiffers = false;
    for (let i = 0; i < 960; i++) if (raw[i * 3074] !== set.labels[i]) coarseDiffers = true;
    expect(coarseDiffers).toBe(true);
  });

  it('accepts any number of records and uses every data_batch_*.bin, in numeric order', () => {
    const raw = readFileSync(join(C10, 'data_batch_1.bin'));
    const dir = join(tmp, 'multi', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data_batch_2.bin'), raw.subarray(0, 3 * 3073)); // records 0..2
    writeFileSync(join(dir, 'data_batch_10.bin'), raw.subarray(3 * 3073, 5 * 3073)); // records 3..4
    writeFileSync(join(dir, 'data_batch_1.bin'), raw.subarray(5 * 3073, 6 * 3073)); // record 5
    const set = loadCifar(join(tmp, 'multi'), 'cifar10', 'train');
    expect(set.n).toBe(6);
    // Order: batch_1 (record 5), batch_2 (records 0..2), batch_10 (records 3..4).
    const expectedOrder = [5, 0, 1, 2, 3, 4];
    expectedOrder.forEach((r, i) => {
      expect(set.labels[i]).toBe(raw[r * 3073]);
      expect(set.pixels[i * 3072 + 100]).toBe(raw[r * 3073 + 1 + 100]);
    });
  });

  it('reports truncated and missing files with their path', () => {
    const dir = join(tmp, 'trunc', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    const raw = readFileSync(join(C10, 'test_batch.bin'));
    const path = join(dir, 'test_batch.bin');
    writeFileSync(path, raw.subarray(0, 3073 * 2 + 100));
    expectDataError(
      () => loadCifar(join(tmp, 'trunc'), 'cifar10', 'test'),
      `truncated: ${path} has ${3073 * 2 + 100} bytes, not a multiple of 3073-byte records`,
    );
    const c100 = join(tmp, 'trunc', 'cifar-100-binary');
    mkdirSync(c100, { recursive: true });
    writeFileSync(join(c100, 'train.bin'), Buffer.alloc(3073));
    expectDataError(() => loadCifar(join(tmp, 'trunc'), 'cifar100', 'train'), join(c100, 'train.bin'), '3074-byte records');

    // The shared sample has no CIFAR-100 test.bin.
    expectDataError(
      () => loadImageSet('cifar100', { dataDir: DATA, split: 'test' }),
      join(DATA, 'cifar-100-binary', 'test.bin'),
    );
    expectDataError(() => loadCifar(join(tmp, 'empty'), 'cifar10', 'train'), join(tmp, 'empty', 'cifar-10-batches-bin'));
  });

  it('rejects labels out of range', () => {
    const dir = join(tmp, 'badlabel', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    const rec = Buffer.alloc(3073);
    rec[0] = 42;
    writeFileSync(join(dir, 'test_batch.bin'), rec);
    expectDataError(() => loadCifar(join(tmp, 'badlabel'), 'cifar10', 'test'), 'class 42');
  });

  it('rejects a CIFAR-100 coarse label out of 0..19 even when the fine label is valid', () => {
    const dir = join(tmp, 'badcoarse', 'cifar-100-binary');
    mkdirSync(dir, { recursive: true });
    const recs = Buffer.alloc(3074 * 2);
    recs[0] = 19; // record 0: coarse 19, fine 5 (fine)
    recs[1] = 5;
    recs[3074] = 20; // record 1: coarse 20 (no such superclass), fine 5
    recs[3075] = 5;
    writeFileSync(join(dir, 'train.bin'), recs);
    expectDataError(() => loadCifar(join(tmp, 'badcoarse'), 'cifar100', 'train'), join(dir, 'train.bin'), 'record 1 has coarse class 20', '0..19');
  });
});

// ---------------------------------------------------------------------------------------------
describe('ImageNet16 pickles', () => {
  const file = join(DATA, 'ImageNet16', 'train_data_batch_1');

  it('keeps the 106 images of the first 120 classes, labels 0..119', () => {
    const set = loadImageSet('ImageNet16-120', { dataDir: DATA });
    expect(set.n).toBe(106);
    expect(set.resolution).toBe(16);
    expect(set.pixels.length).toBe(106 * 768);
    for (const l of set.labels) {
      expect(l).toBeGreaterThanOrEqual(0);
      expect(l).toBeLessThan(120);
    }
  });

  it('parses the numpy array: raw pickle bytes agree with the loaded pixels', () => {
    // This file was written by Python 3 with protocol 2: the array bytes are the argument of
    // _codecs.encode(<latin-1 text>, 'latin1'), a BINUNICODE right after `BINGET 5` (the memoised
    // _codecs.encode). Extract them by hand.
    const raw = readFileSync(file);
    const at = raw.indexOf(Buffer.from([0x68, 0x05, 0x58])); // BINGET 5, BINUNICODE
    expect(at).toBeGreaterThan(0);
    const len = raw.readUInt32LE(at + 3);
    const bytes = Buffer.from(raw.subarray(at + 7, at + 7 + len).toString('utf8'), 'latin1');
    expect(bytes.length).toBe(960 * 768);

    const all = parseImageNet16Pickle(raw, file);
    expect(all.n).toBe(960);
    expect(Buffer.from(all.pixels).equals(bytes)).toBe(true);
    expect(Math.min(...all.labels)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...all.labels)).toBeLessThanOrEqual(1000);
    expect(all.labels.filter((l) => l <= 120).length).toBe(106);

    // First kept image of ImageNet16-120 = first image with label <= 120, label minus one.
    const set = loadImageNet16(DATA, 'train');
    const first = all.labels.findIndex((l) => l <= 120);
    expect(set.labels[0]).toBe(all.labels[first] - 1);
    expect(Buffer.from(set.pixels.subarray(0, 768)).equals(bytes.subarray(first * 768, (first + 1) * 768))).toBe(true);
  });

  it('reads Python-2 style pickles (BINSTRING bytes, incl. 0x80..0x9f) and Fortran order', () => {
    const n = 3;
    const data = new Uint8Array(n * 768);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 0x80) & 255;
    const parsed = parseImageNet16Pickle(imagenetPickle([n, 768], data, [5, 121, 1000]), 'py2.pkl');
    expect(parsed.n).toBe(3);
    expect(Array.from(parsed.labels)).toEqual([5, 121, 1000]);
    expect(Buffer.from(parsed.pixels).equals(Buffer.from(data))).toBe(true);

    // Column-major [3, 768]: element (i, j) at j*3 + i.
    const fortran = new Uint8Array(n * 768);
    for (let i = 0; i < n; i++) for (let j = 0; j < 768; j++) fortran[j * n + i] = data[i * 768 + j];
    const pf = parseImageNet16Pickle(imagenetPickle([n, 768], fortran, [5, 121, 1000], true), 'f.pkl');
    expect(Buffer.from(pf.pixels).equals(Buffer.from(data))).toBe(true);
  });

  it('reports corrupt, truncated and wrong-shape pickles as DataError naming the file', () => {
    const dir = join(tmp, 'in16', 'ImageNet16');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'train_data_batch_1');
    const raw = readFileSync(file);

    writeFileSync(path, raw.subarray(0, raw.length >> 1));
    expectDataError(() => loadImageNet16(join(tmp, 'in16'), 'train'), path, 'corrupt');

    writeFileSync(path, Buffer.from('this is not a pickle at all'));
    expectDataError(() => loadImageNet16(join(tmp, 'in16'), 'train'), path);

    writeFileSync(path, imagenetPickle([2, 700], new Uint8Array(1400), [1, 2]));
    expectDataError(() => loadImageNet16(join(tmp, 'in16'), 'train'), path, 'shape [2, 700]');

    writeFileSync(path, imagenetPickle([2, 768], new Uint8Array(1536), [1]));
    expectDataError(() => loadImageNet16(join(tmp, 'in16'), 'train'), path, '1 labels for 2 images');

    writeFileSync(path, imagenetPickle([1, 768], new Uint8Array(768), [0]));
    expectDataError(() => loadImageNet16(join(tmp, 'in16'), 'train'), path, 'label 0');

    expectDataError(() => loadImageNet16(DATA, 'test'), join(DATA, 'ImageNet16', 'val_data'));
  });
});

// ---------------------------------------------------------------------------------------------
describe('one pickle reader with an allow-list of Python globals', () => {
  /** `'x': os.system('echo pwned')` as pickled by REDUCE (GLOBAL) or, protocol 4, STACK_GLOBAL. */
  const viaReduce = [pyUni('x'), op('cos\nsystem\n'), op('('), pyUni('echo pwned'), op('t'), op('R')];
  const viaStackGlobal = [pyUni('x'), pyUni('posix'), pyUni('system'), Buffer.from([0x93]), op('('), pyUni('echo pwned'), op('t'), op('R')];
  const valid = imagenetPickle([1, 768], new Uint8Array(768), [7]);

  it('the ImageNet16 loader refuses an otherwise valid batch with an extra key built from os.system', () => {
    expect(parseImageNet16Pickle(valid, 'ok').n).toBe(1);
    const dir = join(tmp, 'evil', 'ImageNet16');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'train_data_batch_1');
    writeFileSync(path, imagenetPickle([1, 768], new Uint8Array(768), [7], false, viaReduce));
    expectDataError(() => loadImageNet16(join(tmp, 'evil'), 'train'), path, 'os.system');
    expectDataError(() => parseImageNet16Pickle(imagenetPickle([1, 768], new Uint8Array(768), [7], false, viaStackGlobal), 'sg.pkl'), 'sg.pkl', 'posix.system');
  });

  it('the NATS-Bench importer refuses the same pickle', () => {
    expect(unpickleNats(valid, 'ok.pickle')).toBeInstanceOf(Map);
    for (const [extra, global] of [[viaReduce, 'os.system'], [viaStackGlobal, 'posix.system']] as const) {
      expectDataError(() => unpickleNats(imagenetPickle([1, 768], new Uint8Array(768), [7], false, [...extra]), 'rec.pickle'), 'rec.pickle', global);
    }
  });

  it('allows exactly the globals of the official files', () => {
    expect([...ALLOWED_GLOBALS].sort()).toEqual([
      '_codecs.encode', 'collections.OrderedDict',
      'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar', 'numpy._core.numeric._frombuffer',
      'numpy.core.multiarray._reconstruct', 'numpy.core.multiarray.scalar', 'numpy.core.numeric._frombuffer',
      'numpy.dtype', 'numpy.ndarray',
    ]);
    // The real files use only these (the NATS-Bench records are decoded in import.test.ts).
    expect(parseImageNet16Pickle(readFileSync(join(DATA, 'ImageNet16', 'train_data_batch_1')), 'batch').n).toBe(960);
  });
});

// ---------------------------------------------------------------------------------------------
describe('transforms', () => {
  it('normalises a known pixel as (x - mean) / std, NHWC', () => {
    const raw = readFileSync(join(C10, 'data_batch_1.bin'));
    const set = loadImageSet('cifar10', { dataDir: DATA });
    const b = normalise(set, [0, 1]);
    expect(b.n).toBe(2);
    expect(b.x.length).toBe(2 * 32 * 32 * 3);
    const y = 5, x = 7;
    const std = [63.0, 62.1, 66.7], mean = [125.3, 123.0, 113.9];
    for (let c = 0; c < 3; c++) {
      const v0 = raw[1 + c * 1024 + y * 32 + x];
      expect(b.x[(y * 32 + x) * 3 + c]).toBeCloseTo((v0 - mean[c]) / std[c], 5);
      const v1 = raw[3073 + 1 + c * 1024 + y * 32 + x];
      expect(b.x[32 * 32 * 3 + (y * 32 + x) * 3 + c]).toBeCloseTo((v1 - mean[c]) / std[c], 5);
    }
    expect(Array.from(b.labels)).toEqual([raw[0], raw[3073]]);
  });

  it('converts NCHW to NHWC', () => {
    // n=1, c=2, h=1, w=3: planes [1,2,3] and [4,5,6] → pixels (1,4) (2,5) (3,6).
    expect(Array.from(nchwToNhwc([1, 2, 3, 4, 5, 6], 1, 2, 1, 3))).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('crops with zero padding and flips as worked out by hand', () => {
    // One channel, 4x4, value = 10*y + x + 1. Padding 2, crop at (top 1, left 3), flipped.
    const src = new Uint8Array(16);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) src[y * 4 + x] = 10 * y + x + 1;
    const out = new Float32Array(16);
    const id = { mean: [0, 0, 0], std: [1, 1, 1] } as const;
    transformImage(src, 0, 1, 4, 4, 2, { top: 1, left: 3, flip: true }, id as never, out, 0);
    // Output (y, x) = padded (y+1, (3-x)+3) = original (y-1, 4-x).
    expect(Array.from(out)).toEqual([
      0, 0, 0, 0,
      0, 4, 3, 2,
      0, 14, 13, 12,
      0, 24, 23, 22,
    ]);
    // Unflipped, crop (top 2, left 0): original (y, x-2).
    transformImage(src, 0, 1, 4, 4, 2, { top: 2, left: 0, flip: false }, id as never, out, 0);
    expect(Array.from(out)).toEqual([0, 0, 1, 2, 0, 0, 11, 12, 0, 0, 21, 22, 0, 0, 31, 32]);
    // Padding is raw zero: after normalisation it is (0 - mean) / std.
    const norm = { mean: [100, 0, 0], std: [50, 1, 1] } as const;
    transformImage(src, 0, 1, 4, 4, 2, { top: 2, left: 0, flip: false }, norm as never, out, 0);
    expect(out[0]).toBeCloseTo(-2, 6);
    expect(out[2]).toBeCloseTo((1 - 100) / 50, 6);
  });
});

// ---------------------------------------------------------------------------------------------
describe('proxy batches', () => {
  /** A synthetic 32x32 CIFAR-10 set with distinct, non-zero, asymmetric pixels per image. */
  function synthetic(n: number): ImageSet {
    const rng = new Rng(99);
    const pixels = new Uint8Array(n * 3072);
    for (let i = 0; i < pixels.length; i++) pixels[i] = 1 + rng.int(255);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    return { dataset: 'cifar10', split: 'train', n, resolution: 32, pixels, labels };
  }

  it('draws distinct images with a crop (offsets 0..8) and flip applied to each', () => {
    const set = synthetic(300);
    const batches = makeProxyBatches(set, { batchSize: 64, batches: 3, seed: 5 });
    expect(batches.length).toBe(3);
    const seen = new Set<number>();
    const mean = [125.3, 123.0, 113.9], std = [63.0, 62.1, 66.7];
    let flips = 0;
    const tops = new Set<number>();
    for (const b of batches) {
      expect(b.n).toBe(64);
      expect([b.height, b.width]).toEqual([32, 32]);
      expect(b.x.length).toBe(64 * 32 * 32 * 3);
      for (let k = 0; k < b.n; k++) {
        const idx = b.indices[k];
        seen.add(idx);
        expect(b.labels[k]).toBe(set.labels[idx]);
        // Find the crop/flip that reproduces this output, by brute force over all 162.
        const img = b.x.subarray(k * 3072, (k + 1) * 3072);
        let found: { top: number; left: number; flip: boolean } | null = null;
        for (let top = 0; top <= 8 && !found; top++) {
          for (let left = 0; left <= 8 && !found; left++) {
            for (const flip of [false, true]) {
              let ok = true;
              for (let y = 0; y < 32 && ok; y++) {
                for (let x = 0; x < 32 && ok; x++) {
                  const sy = y + top - 4, sx = (flip ? 31 - x : x) + left - 4;
                  for (let c = 0; c < 3 && ok; c++) {
                    const v = sy < 0 || sy > 31 || sx < 0 || sx > 31 ? 0 : set.pixels[idx * 3072 + c * 1024 + sy * 32 + sx];
                    if (Math.abs(img[(y * 32 + x) * 3 + c] - (v - mean[c]) / std[c]) > 1e-5) ok = false;
                  }
                }
              }
              if (ok) {
                found = { top, left, flip };
                break;
              }
            }
          }
        }
        expect(found).not.toBeNull();
        if (found!.flip) flips++;
        tops.add(found!.top);
      }
    }
    expect(seen.size).toBe(192); // without replacement across all batches
    expect(flips).toBeGreaterThan(192 * 0.3);
    expect(flips).toBeLessThan(192 * 0.7);
    expect(tops.size).toBe(9);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const set = loadImageSet('cifar100', { dataDir: DATA });
    const a = makeProxyBatches(set, { seed: 3 });
    const b = makeProxyBatches(set, { seed: 3 });
    const c = makeProxyBatches(set, { seed: 4 });
    expect(a.length).toBe(2);
    expect(a[0].n).toBe(128);
    for (let i = 0; i < 2; i++) {
      expect(Buffer.from(a[i].x.buffer).equals(Buffer.from(b[i].x.buffer))).toBe(true);
      expect(Array.from(a[i].labels)).toEqual(Array.from(b[i].labels));
    }
    expect(Array.from(a[0].indices)).not.toEqual(Array.from(c[0].indices));
    expect(Buffer.from(a[0].x.buffer).equals(Buffer.from(c[0].x.buffer))).toBe(false);
  });

  it('refuses more images than the set has and suggests a layout that fits', () => {
    const set = loadImageSet('ImageNet16-120', { dataDir: DATA });
    let err: unknown;
    try {
      makeProxyBatches(set, { seed: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('106 images');
    expect((err as Error).message).toContain('2 batches of 53');
    const ok = makeProxyBatches(set, { seed: 0, batchSize: 53, batches: 2 });
    expect(ok.map((b) => b.n)).toEqual([53, 53]);
    expect(ok[0].x.length).toBe(53 * 16 * 16 * 3);
    expect(new Set([...ok[0].indices, ...ok[1].indices]).size).toBe(106);
    expect(() => makeProxyBatches(set, { seed: 0, batchSize: 0 })).toThrow(InputError);
  });

  it('caches loaded sets per path', () => {
    const a = loadImageSet('cifar100', { dataDir: DATA });
    expect(loadImageSet('cifar100', { dataDir: DATA + '/' }) === a).toBe(true);
    clearImageSetCache();
    const b = loadImageSet('cifar100', { dataDir: DATA });
    // (identity check by hand: `not.toBe` on big objects runs a slow deep comparison)
    expect(b === a).toBe(false);
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
  });
});

describe('reduced proxy resolution', () => {
  it('a box filter: each pixel of the 16×16 batch is the mean of its 2×2 block, per channel', () => {
    const n = 2, r = 32;
    const x = Float32Array.from({ length: n * r * r * 3 }, (_, i) => Math.sin(i * 0.37) * 3);
    const batch = { x, labels: Int32Array.from([3, 7]), n, height: r, width: r, indices: Int32Array.from([0, 1]) };
    const small = downsampleBatch(batch, 16);
    expect([small.n, small.height, small.width, small.x.length]).toEqual([2, 16, 16, 2 * 16 * 16 * 3]);
    expect(small.labels).toBe(batch.labels);
    const at = (k: number, i: number, j: number, c: number) => x[((k * r + i) * r + j) * 3 + c];
    for (const [k, i, j, c] of [[0, 0, 0, 0], [1, 15, 15, 2], [0, 7, 3, 1], [1, 0, 9, 2]]) {
      const want = (at(k, 2 * i, 2 * j, c) + at(k, 2 * i + 1, 2 * j, c) + at(k, 2 * i, 2 * j + 1, c) + at(k, 2 * i + 1, 2 * j + 1, c)) / 4;
      expect(small.x[((k * 16 + i) * 16 + j) * 3 + c]).toBeCloseTo(want, 6);
    }
    expect(downsampleBatch(batch, 32)).toBe(batch);
    expect(() => downsampleBatch(batch, 24)).toThrow(InputError);
  });
});

describe('class names', () => {
  const numbered = (n: number) => Array.from({ length: n }, (_, i) => `class_${i}`);

  it("reads a builtin's names file beside its binaries", () => {
    expect(classNames('cifar10', { dataDir: DATA })).toEqual(
      ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(classNames({ ...datasetInfo('cifar10') }, { dataDir: DATA })[9]).toBe('truck');
  });

  it('numbers the classes without a names file (ImageNet16-120, or a data dir lacking it)', () => {
    expect(classNames('ImageNet16-120', { dataDir: DATA })).toEqual(numbered(120));
    expect(classNames('cifar10', { dataDir: tmp })).toEqual(numbered(10));
    // A names file that does not list one name per class is not used.
    mkdirSync(join(tmp, 'names', 'cifar-10-batches-bin'), { recursive: true });
    writeFileSync(join(tmp, 'names', 'cifar-10-batches-bin', 'batches.meta.txt'), 'airplane\nautomobile\n');
    expect(classNames('cifar10', { dataDir: join(tmp, 'names') })).toEqual(numbered(10));
  });

  it("gives a folder dataset's class folders, without a data dir", () => {
    const folder = { kind: 'folder', name: 'pets', classes: 2, classNames: ['cat', 'dog'] } as unknown as FolderDataset;
    expect(classNames(folder, { dataDir: join(tmp, 'missing') })).toEqual(['cat', 'dog']);
  });
});

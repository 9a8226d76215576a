/**
 * Image files that are not what they claim (issue 21, problem 4, images half): FIFOs, devices and
 * folders named like images, never opened, refused in one line or skipped with --skip-bad; the
 * alpha path's memory bounded by the output size, not the source; the pixel limit; and the two
 * hooks the queue worker needs (`maxImages`, `releaseImageFolder`).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import {
  clearImageFolderMemory, decodeCount, decodeImage, decodeImageBytes, imageFoldersInMemory, loadFolderSplit, openImageFolder, releaseImageFolder, MAX_IMAGE_PIXELS,
} from '../src/datasets/imageFolder/index.js';
import { initNetwork } from '../src/networks/index.js';
import { networkLayers, paramName } from '../src/networks/spec.js';
import { parseSssChannels, sssNetworkSpec } from '../src/spaces/sss/index.js';
import { exportModel } from '../src/export/index.js';
import { readDataFile } from '../src/datasets/files.js';
import { DataError } from '../src/util/errors.js';
import { REPO, runCliWithin } from './helpers/cli.js';
import { expectOneLineErrorInTime } from './helpers/oneLine.js';

let tmp: string;
let cacheDir: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-image-hostile-'));
  cacheDir = path.join(tmp, 'image-cache');
  process.env.MFNAS_IMAGE_CACHE = path.join(tmp, 'default-image-cache');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let folders = 0;

/** A 32 x 32 PNG whose pixels depend on `seed` (with `alpha`, a translucent RGBA one). */
function pngBytes(seed: number, w = 32, h = 32, alpha?: (p: number) => number): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < w * h; p++) {
    for (let c = 0; c < 3; c++) png.data[4 * p + c] = (p * (7 + c) + seed * 31) % 256;
    png.data[4 * p + 3] = alpha ? alpha(p) : 255;
  }
  return PNG.sync.write(png);
}

/** DIR/train/{a,b}/ with `perClass` PNGs each, unlike any other folder's (so never found in memory). */
function folder(perClass = 3): string {
  const dir = path.join(tmp, `ds-${++folders}`);
  for (const cls of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, 'train', cls), { recursive: true });
    for (let i = 0; i < perClass; i++) fs.writeFileSync(path.join(dir, 'train', cls, `img${i}.png`), pngBytes(folders * 100 + i + (cls === 'a' ? 0 : 50)));
  }
  return dir;
}

const mkfifo = (file: string) => execFileSync('mkfifo', [file]);

/** The rejection of `p` (a DataError on one line, else the test fails). */
async function dataError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DataError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

const expectOneLine = expectOneLineErrorInTime;

describe('files named like images that are not regular files', () => {
  it('a FIFO named f.png is a bad file, never opened: an error naming it, or skipped with skipBad', async () => {
    const dir = folder();
    mkfifo(path.join(dir, 'train', 'a', 'f.png'));
    const message = await dataError(openImageFolder(dir, { cacheDir }));
    expect(message).toMatch(/train\/a\/f\.png" is a FIFO \(named pipe\), not a regular file: .*--skip-bad/);
    const ds = await openImageFolder(dir, { cacheDir, skipBad: true });
    expect(ds.skipped).toBe(1);
    expect(ds.counts.train).toBe(6);
    expect(ds.skippedExamples[0]).toContain('train/a/f.png: is a FIFO');
  });

  it('a symlink to /dev/zero named z.png is a bad file (a character device), not an endless read', async () => {
    const dir = folder();
    fs.symlinkSync('/dev/zero', path.join(dir, 'train', 'b', 'z.png'));
    expect(await dataError(openImageFolder(dir, { cacheDir }))).toMatch(/z\.png" is a character device, not a regular file/);
    expect((await openImageFolder(dir, { cacheDir, skipBad: true })).skipped).toBe(1);
  });

  it('a folder named x.png is a bad file, not a subfolder of images', async () => {
    const dir = folder();
    const x = path.join(dir, 'train', 'a', 'x.png');
    fs.mkdirSync(x);
    fs.writeFileSync(path.join(x, 'inside.png'), pngBytes(99));
    expect(await dataError(openImageFolder(dir, { cacheDir }))).toMatch(/x\.png" is a directory, not a regular file/);
    const ds = await openImageFolder(dir, { cacheDir, skipBad: true });
    expect(ds.skipped).toBe(1);
    expect(ds.counts.train).toBe(6); // x.png/inside.png is not taken either
  });

  it('decodeImage (predict --images) refuses a FIFO, a device and a folder in one line, without blocking', async () => {
    const fifo = path.join(tmp, 'fifo.png');
    mkfifo(fifo);
    expect(await dataError(decodeImage(fifo, 32))).toMatch(/^the image .*fifo\.png" is a FIFO \(named pipe\), not a regular file: give a PNG or JPEG file$/);
    expect(await dataError(decodeImage('/dev/zero', 32))).toMatch(/is a character device, not a regular file/);
    expect(await dataError(decodeImage(tmp, 32))).toMatch(/is a directory, not a regular file/);
  });
});

describe('other files read on the way', () => {
  it('a FIFO in place of a decoded-image cache file is passed over: the folder is decoded and the cache rewritten', async () => {
    const dir = folder(2);
    const cache = path.join(tmp, 'fifo-cache');
    const first = await openImageFolder(dir, { cacheDir: cache });
    releaseImageFolder(first.fingerprint);
    fs.rmSync(first.cacheFile);
    mkfifo(first.cacheFile);
    const decodes = decodeCount();
    const again = await openImageFolder(dir, { cacheDir: cache });
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(decodeCount()).toBe(decodes + 4);
    expect(fs.statSync(again.cacheFile).isFile()).toBe(true);
  });

  it('a builtin data file that is a symlink to /dev/zero is one line naming it', () => {
    const link = path.join(tmp, 'data_batch_1.bin');
    fs.symlinkSync('/dev/zero', link);
    expect(() => readDataFile(link)).toThrow(/data_batch_1\.bin" is a character device, not a regular file/);
    expect(() => readDataFile(path.join(tmp, 'absent.bin'))).toThrow(/missing data file: .*absent\.bin does not exist/);
  });
});

describe('the CLI on such files (child processes, killed if they hang)', () => {
  let dir: string;
  const env = () => ({ MFNAS_IMAGE_CACHE: path.join(tmp, 'cli-cache') });
  beforeAll(() => {
    dir = folder(4);
    mkfifo(path.join(dir, 'train', 'a', 'f.png'));
  });

  it('score --dataset DIR with a FIFO: exit 2 with one line naming it; with --skip-bad it is skipped', async () => {
    const args = ['score', '--space', 'sss', '--dataset', dir, '--arch', '8:8:8:8:8', '--batch', '4', '--no-cache'];
    expectOneLine(await runCliWithin(args, 60_000, env()), /train\/a\/f\.png" is a FIFO \(named pipe\), not a regular file.*--skip-bad/);
    const skipped = await runCliWithin([...args, '--skip-bad', '--json'], 60_000, env());
    expect(skipped.hung, 'the command hung').toBe(false);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain('skipped 1 bad file');
    expect(skipped.stderr).toContain('8 training images remain');
    expect(JSON.parse(skipped.stdout).arch).toBe('8:8:8:8:8');
  }, 150_000);

  it('predict --images fifo.png: exit 2 with one line naming it', async () => {
    // An untrained export is enough: the image is refused before the model sees it.
    const spec = sssNetworkSpec(parseSssChannels('8:8:8:8:8'), 'cifar10');
    const params = initNetwork(spec, 1);
    for (const layer of networkLayers(spec)) {
      if (layer.kind !== 'bn') continue;
      params.set(paramName(layer, 'running_mean'), { shape: [layer.c], data: new Float32Array(layer.c) });
      params.set(paramName(layer, 'running_var'), { shape: [layer.c], data: new Float32Array(layer.c).fill(1) });
    }
    const run = path.join(tmp, 'model-run');
    await exportModel({
      spec, params, labels: Array.from({ length: 10 }, (_, i) => `c${i}`),
      preprocess: { imageSize: 32, channelOrder: 'RGB', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    }, run);
    const fifo = path.join(tmp, 'predict-fifo.png');
    mkfifo(fifo);
    expectOneLine(await runCliWithin(['predict', '--model', run, '--images', fifo], 60_000), /predict-fifo\.png" is a FIFO \(named pipe\), not a regular file/);
  }, 90_000);
});

describe('decoding images with alpha', () => {
  /** Colours depend on the pixel; alpha goes through 0 (hidden colours), 255 and values between. */
  const alpha = (p: number) => [0, 255, 1, 128, 37][p % 5];
  const rgbaOf = (w: number, h: number) => pngBytes(5, w, h, alpha);
  const rgbOf = (w: number, h: number) => pngBytes(5, w, h);

  it.each([[32, 32], [45, 37], [37, 45], [20, 24], [301, 203]])(
    '%i x %i: alpha dropped, not blended, through memory or a temporary file alike (the colours of an RGB copy)',
    async (w, h) => {
      const expected = await decodeImageBytes(rgbOf(w, h), 16);
      const inMemory = await decodeImageBytes(rgbaOf(w, h), 16, { alphaInMemoryBytes: Infinity });
      const viaFile = await decodeImageBytes(rgbaOf(w, h), 16, { alphaInMemoryBytes: 0 });
      expect(Buffer.from(inMemory).equals(Buffer.from(expected))).toBe(true);
      expect(Buffer.from(viaFile).equals(Buffer.from(expected))).toBe(true);
    },
  );

  it('grey with alpha, via a temporary file, is copied to three planes', async () => {
    const grey = Buffer.alloc(30 * 20 * 2);
    for (let p = 0; p < 600; p++) { grey[2 * p] = (p * 13) % 256; grey[2 * p + 1] = alpha(p); }
    const png = await sharp(grey, { raw: { width: 30, height: 20, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    const a = await decodeImageBytes(png, 8, { alphaInMemoryBytes: Infinity });
    const b = await decodeImageBytes(png, 8, { alphaInMemoryBytes: 0 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(b.subarray(0, 64)).equals(Buffer.from(b.subarray(64, 128)))).toBe(true);
  });

  it('leaves no temporary files behind', async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mfnas-decode-')).length;
    await decodeImageBytes(rgbaOf(40, 40), 16, { alphaInMemoryBytes: 0 });
    await expect(decodeImageBytes(Buffer.concat([rgbaOf(40, 40).subarray(0, 200), Buffer.alloc(100)]), 16, { alphaInMemoryBytes: 0 }))
      .rejects.toThrow();
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mfnas-decode-')).length).toBe(before);
  });

  it('peak memory of an 8000 x 8000 RGBA PNG stays far below its full-size RGB (192 MB)', async () => {
    const file = path.join(tmp, 'big-rgba.png');
    await sharp({ create: { width: 8000, height: 8000, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 0.25 } } })
      .png().toFile(file);
    // A child process, so that the peak (getrusage's maxRSS) is this decode's alone.
    const script = path.join(tmp, 'peak.mts');
    fs.writeFileSync(script, [
      `import fs from 'node:fs';`,
      `import { decodeImageBytes } from ${JSON.stringify(path.join(REPO, 'src/datasets/imageFolder/decode.ts'))};`,
      `const bytes = fs.readFileSync(${JSON.stringify(file)});`,
      `const before = process.memoryUsage().rss;`,
      `const out = await decodeImageBytes(bytes, 32);`,
      `console.log(JSON.stringify({ grew: process.resourceUsage().maxRSS * 1024 - before, first: [out[0], out[1024], out[2048]] }));`,
    ].join('\n'));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code, err).toBe(0);
    const r = JSON.parse(out) as { grew: number; first: number[] };
    expect(r.first).toEqual([200, 100, 50]); // the stored colour, not darkened by its alpha
    expect(r.grew).toBeLessThan(96 * 2 ** 20); // the two-pass decode in memory grew by ~204 MB
  }, 60_000);
});

describe('the pixel limit', () => {
  /** A small valid PNG whose header claims width x height (sharp reads only the header first). */
  function claimingSize(width: number, height: number): Buffer {
    const png = Buffer.from(pngBytes(1, 8, 8));
    png.writeUInt32BE(width, 16);
    png.writeUInt32BE(height, 20);
    png.writeInt32BE(crc32(png.subarray(12, 29)), 29);
    return png;
  }

  it('refuses an image over 268,402,689 pixels before decoding it, in one line naming the file and the limit', async () => {
    expect(MAX_IMAGE_PIXELS).toBe(268_402_689);
    const file = path.join(tmp, 'huge.png');
    fs.writeFileSync(file, claimingSize(20000, 20000));
    const message = await dataError(decodeImage(file, 32));
    expect(message).toContain('huge.png');
    expect(message).toContain('20000 x 20000 pixels, over the limit of 268,402,689');
    // 16383 x 16383 is within the limit: refused for its missing data, not its size.
    fs.writeFileSync(file, claimingSize(16383, 16383));
    expect(await dataError(decodeImage(file, 32))).not.toContain('over the limit');
  });
});

describe('hooks for the queue worker', () => {
  it('maxImages refuses a folder with more images before reading any of them', async () => {
    const dir = folder(3);
    const decodes = decodeCount();
    const open = vi.spyOn(fs.promises, 'open');
    try {
      const message = await dataError(openImageFolder(dir, { cacheDir, maxImages: 5 }));
      expect(message).toContain('holds 6 images, over the limit of 5');
      expect(open).not.toHaveBeenCalled();
    } finally {
      open.mockRestore();
    }
    expect(decodeCount()).toBe(decodes);
    expect((await openImageFolder(dir, { cacheDir, maxImages: 6 })).counts.train).toBe(6);
  });

  it('expectFingerprint refuses other content right after hashing, before any decode', async () => {
    const dir = folder(2);
    const decodes = decodeCount();
    const message = await dataError(openImageFolder(dir, { cacheDir, expectFingerprint: '0'.repeat(64) }));
    expect(message).toMatch(/has other content than expected/);
    expect(decodeCount()).toBe(decodes);
    const ds = await openImageFolder(dir, { cacheDir });
    expect((await openImageFolder(dir, { cacheDir, expectFingerprint: ds.fingerprint })).fingerprint).toBe(ds.fingerprint);
  });

  it('a folder refused after decoding (a class left empty by --skip-bad) does not stay in memory', async () => {
    const dir = folder(1);
    fs.writeFileSync(path.join(dir, 'train', 'b', 'img0.png'), 'not a png');
    clearImageFolderMemory();
    expect(await dataError(openImageFolder(dir, { cacheDir, skipBad: true }))).toMatch(/has no usable images/);
    expect(imageFoldersInMemory()).toBe(0);
    await openImageFolder(folder(2), { cacheDir });
    expect(imageFoldersInMemory()).toBe(1);
  });

  it('releaseImageFolder drops one folder\'s decoded images from memory (the disk cache stays)', async () => {
    const ds = await openImageFolder(folder(2), { cacheDir });
    const other = await openImageFolder(folder(3), { cacheDir });
    expect(releaseImageFolder(ds.fingerprint)).toBe(true);
    expect(releaseImageFolder(ds.fingerprint)).toBe(false);
    // Only the disk cache can answer now: without it, the released folder is gone; the other is not.
    fs.renameSync(ds.cacheFile, `${ds.cacheFile}.away`);
    fs.renameSync(other.cacheFile, `${other.cacheFile}.away`);
    expect(() => loadFolderSplit(ds, 'train')).toThrow(/missing from the cache/);
    expect(loadFolderSplit(other, 'train').n).toBe(6);
    fs.renameSync(`${ds.cacheFile}.away`, ds.cacheFile);
    expect(loadFolderSplit(ds, 'train').n).toBe(4);
  });
});

/** CRC-32 (PNG's), for patching a chunk. */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c;
}

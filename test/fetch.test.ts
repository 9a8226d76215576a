/**
 * The dataset fetcher against a local HTTP server (127.0.0.1, started here) serving archives
 * in the official CIFAR layout, built from slices of ../shared/data.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { md5File, normalizeMd5 } from '../src/fetch/checksum.js';
import { CIFAR_SPECS, checkImagenetPickle, fetchCifar, imagenet16Instructions, installImageNet16 } from '../src/fetch/datasets.js';
import { downloadFile } from '../src/fetch/download.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';
import { registerDataCommands } from '../src/cli/commands/data.js';
import { DataError, InputError } from '../src/util/errors.js';

const SHARED = path.resolve(__dirname, '../../shared/data');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-fetch-test-'));
let n = 0;
const freshDir = () => path.join(tmpRoot, `case-${n++}`);

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

interface Archive {
  bytes: Buffer;
  md5: string;
  /** Files in the archive's top folder and their contents. */
  files: Record<string, Buffer>;
}

/** A .tar.gz in the official layout: `<top>/<files>`. */
async function buildArchive(top: string, files: Record<string, Buffer>): Promise<Archive> {
  const src = fs.mkdtempSync(path.join(tmpRoot, 'src-'));
  fs.mkdirSync(path.join(src, top));
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(src, top, name), data);
  const file = path.join(src, 'archive.tar.gz');
  await tar.c({ gzip: true, file, cwd: src, portable: true }, [top]);
  const bytes = fs.readFileSync(file);
  return { bytes, md5: md5(bytes), files };
}

function sliceRecords(file: string, recordBytes: number, count: number): Buffer {
  return fs.readFileSync(file).subarray(0, recordBytes * count);
}

/** The commands of this module on a bare program. */
const cli = (args: string[]) => runCommandsInProcess(registerDataCommands, args);

// ---------------------------------------------------------------------------------------
// Test server: serves `routes[path]`, honours Range unless told not to, can cut transfers.

interface Route {
  body: Buffer;
  /** Cut the connection after this many body bytes, for the first `cutTimes` requests. */
  cutAfter?: number;
  cutTimes?: number;
  ignoreRange?: boolean;
  status?: number;
  /** Location header sent with `status` (redirects). */
  location?: string;
}

const routes = new Map<string, Route>();
const log: { path: string; range: string | undefined; status: number }[] = [];
let server: http.Server;
let base = '';

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const route = routes.get(req.url ?? '');
  const range = req.headers.range;
  if (!route || route.status) {
    const status = route?.status ?? 404;
    log.push({ path: req.url ?? '', range, status });
    res.writeHead(status, { 'Content-Type': 'text/plain', ...(route?.location ? { Location: route.location } : {}) }).end('no');
    return;
  }
  const total = route.body.length;
  let start = 0;
  const m = range && !route.ignoreRange ? /^bytes=(\d+)-$/.exec(range) : null;
  if (m) {
    start = Number(m[1]);
    if (start >= total) {
      log.push({ path: req.url!, range, status: 416 });
      res.writeHead(416, { 'Content-Range': `bytes */${total}` }).end();
      return;
    }
    res.writeHead(206, {
      'Content-Type': 'application/x-gzip', 'Content-Length': String(total - start),
      'Content-Range': `bytes ${start}-${total - 1}/${total}`, 'Accept-Ranges': 'bytes',
    });
    log.push({ path: req.url!, range, status: 206 });
  } else {
    res.writeHead(200, { 'Content-Type': 'application/x-gzip', 'Content-Length': String(total), 'Accept-Ranges': 'bytes' });
    log.push({ path: req.url!, range, status: 200 });
  }
  const body = route.body.subarray(start);
  if (route.cutAfter !== undefined && (route.cutTimes ?? 1) > 0) {
    route.cutTimes = (route.cutTimes ?? 1) - 1;
    res.write(body.subarray(0, route.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(body);
}

let cifar10: Archive;
let cifar100: Archive;

beforeAll(async () => {
  server = http.createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cifar10 = await buildArchive('cifar-10-batches-bin', {
    'data_batch_1.bin': sliceRecords(path.join(SHARED, 'cifar-10-batches-bin/data_batch_1.bin'), 3073, 200),
    'test_batch.bin': sliceRecords(path.join(SHARED, 'cifar-10-batches-bin/test_batch.bin'), 3073, 100),
    'batches.meta.txt': fs.readFileSync(path.join(SHARED, 'cifar-10-batches-bin/batches.meta.txt')),
  });
  cifar100 = await buildArchive('cifar-100-binary', {
    'train.bin': sliceRecords(path.join(SHARED, 'cifar-100-binary/train.bin'), 3074, 100),
  });
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

afterEach(() => {
  routes.clear();
  log.length = 0;
});

function serve(p: string, route: Route): string {
  routes.set(p, route);
  return `${base}${p}`;
}

function expectInstalled(dir: string, archive: Archive, top = 'cifar-10-batches-bin'): void {
  for (const [name, data] of Object.entries(archive.files)) {
    expect(fs.readFileSync(path.join(dir, top, name)).equals(data), name).toBe(true);
  }
  // Nothing else is left in DIR: no archive, no .part, no temporary folder.
  expect(fs.readdirSync(dir)).toEqual([top]);
}

describe('published archives', () => {
  it('uses the CIFAR site URLs and MD5s', () => {
    expect(CIFAR_SPECS.cifar10.url).toBe('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz');
    expect(CIFAR_SPECS.cifar10.md5).toBe('c32a1d4ab5d03f1284b67883e8d87530');
    expect(CIFAR_SPECS.cifar100.url).toBe('https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz');
    expect(CIFAR_SPECS.cifar100.md5).toBe('03b5dce01913d631647c71ecec9e9cb8');
    expect(normalizeMd5(' C32A1D4AB5D03F1284B67883E8D87530 ')).toBe('c32a1d4ab5d03f1284b67883e8d87530');
    expect(() => normalizeMd5('xyz')).toThrow(InputError);
  });
});

describe('fetchCifar', () => {
  it('downloads, verifies and installs CIFAR-10 in the loader layout (clean download)', async () => {
    const url = serve('/cifar-10-binary.tar.gz', { body: cifar10.bytes });
    const dir = freshDir();
    const seen: number[] = [];
    const r = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5, onProgress: (b) => seen.push(b) });
    expect(r.path).toBe(path.join(dir, 'cifar-10-batches-bin'));
    expect(r.downloaded).toBe(true);
    expect(r.resumedFrom).toBe(0);
    expect(r.md5).toBe(cifar10.md5);
    expect(r.archiveBytes).toBe(cifar10.bytes.length);
    expect(r.files).toEqual(['batches.meta.txt', 'data_batch_1.bin', 'test_batch.bin']);
    expect(r.warnings.join('\n')).toMatch(/data_batch_2\.bin/);
    expect(seen[seen.length - 1]).toBe(cifar10.bytes.length);
    expectInstalled(dir, cifar10);
    expect(log).toEqual([{ path: '/cifar-10-binary.tar.gz', range: undefined, status: 200 }]);

    // A second run finds the dataset in place and does nothing.
    const again = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5 });
    expect(again.alreadyPresent).toBe(true);
    expect(log).toHaveLength(1);
  });

  it('installs CIFAR-100 as DIR/cifar-100-binary', async () => {
    const url = serve('/c100.tgz', { body: cifar100.bytes });
    const dir = freshDir();
    const r = await fetchCifar({ dataset: 'cifar100', to: dir, url, md5: cifar100.md5 });
    expect(r.path).toBe(path.join(dir, 'cifar-100-binary'));
    expectInstalled(dir, cifar100, 'cifar-100-binary');
  });

  it('resumes an interrupted transfer with an HTTP Range request on the .part file', async () => {
    const cut = 300_000;
    const url = serve('/cifar-10-binary.tar.gz', { body: cifar10.bytes, cutAfter: cut, cutTimes: 1 });
    const dir = freshDir();
    // First run: the connection drops, no automatic retry → the partial file is kept.
    const err = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5, retries: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/run the same command again to resume/);
    const part = path.join(dir, 'cifar-10-binary.tar.gz.part');
    const kept = fs.statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);
    expect(fs.existsSync(path.join(dir, 'cifar-10-batches-bin'))).toBe(false);

    // Second run: asks for the rest only, and the result verifies.
    const r = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5 });
    expect(r.resumedFrom).toBe(kept);
    expect(log.map((l) => [l.range, l.status])).toEqual([[undefined, 200], [`bytes=${kept}-`, 206]]);
    expectInstalled(dir, cifar10);
  });

  it('resumes automatically within one run after a dropped connection', async () => {
    const url = serve('/a.tgz', { body: cifar10.bytes, cutAfter: 123_456, cutTimes: 2 });
    const dir = freshDir();
    const r = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5, retries: 3, retryDelayMs: 0 });
    // Two drops → three requests; the second and third ask for the rest of the file only.
    expect(log.map((l) => l.status)).toEqual([200, 206, 206]);
    expect(log[0].range).toBeUndefined();
    const offsets = log.slice(1).map((l) => Number(/^bytes=(\d+)-$/.exec(l.range ?? '')?.[1]));
    expect(offsets[0]).toBeGreaterThan(0);
    expect(offsets[0]).toBeLessThanOrEqual(123_456);
    expect(offsets[1]).toBeGreaterThan(offsets[0]);
    expect(offsets[1]).toBeLessThanOrEqual(2 * 123_456);
    expect(r.md5).toBe(cifar10.md5);
    expectInstalled(dir, cifar10);
  });

  it('restarts from zero when the server ignores Range', async () => {
    const url = serve('/a.tgz', { body: cifar10.bytes, ignoreRange: true });
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz.part'), Buffer.alloc(5000, 7)); // stale junk
    const res = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5 });
    expect(log[log.length - 1]).toEqual({ path: '/a.tgz', range: 'bytes=5000-', status: 200 });
    expect(res.md5).toBe(cifar10.md5);
    expect(fs.readFileSync(path.join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin')).equals(cifar10.files['data_batch_1.bin'])).toBe(true);
    expect(fs.existsSync(path.join(dir, 'cifar-10-binary.tar.gz.part'))).toBe(false);
  });

  it('downloadFile: a complete .part (server answers 416) is verified, not fetched again', async () => {
    const url = serve('/a.tgz', { body: cifar10.bytes });
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'dl-'));
    const dest = path.join(dir, 'a.tgz');
    fs.writeFileSync(`${dest}.part`, cifar10.bytes);
    const r = await downloadFile({ url, dest, md5: cifar10.md5 });
    expect(r.resumedFrom).toBe(cifar10.bytes.length);
    expect(log.map((l) => l.status)).toEqual([416]);
    expect(fs.readdirSync(dir)).toEqual(['a.tgz']);
  });

  it('rejects a wrong checksum and leaves nothing behind', async () => {
    // --url without --md5: the published MD5 is checked, and this archive is not the official one.
    const url = serve('/cifar-10-binary.tar.gz', { body: cifar10.bytes });
    const dir = freshDir();
    const err = await fetchCifar({ dataset: 'cifar10', to: dir, url }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/checksum mismatch/);
    expect(err.message).toContain(cifar10.md5);
    expect(err.message).toContain('c32a1d4ab5d03f1284b67883e8d87530');
    expect(fs.existsSync(dir)).toBe(false); // DIR was created by the call and removed again

    // In an existing DIR, only what was there before remains.
    const dir2 = freshDir();
    fs.mkdirSync(dir2);
    fs.writeFileSync(path.join(dir2, 'keep.txt'), 'x');
    await expect(fetchCifar({ dataset: 'cifar10', to: dir2, url, md5: 'f'.repeat(32) })).rejects.toThrow(/checksum mismatch/);
    expect(fs.readdirSync(dir2)).toEqual(['keep.txt']);
  });

  it('rejects a corrupt archive (right checksum, truncated gzip) without installing anything', async () => {
    const bad = cifar10.bytes.subarray(0, Math.floor(cifar10.bytes.length / 2));
    const url = serve('/bad.tgz', { body: bad });
    const dir = freshDir();
    const err = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: md5(bad) }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/cannot extract/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('rejects an archive without the official top folder', async () => {
    const other = await buildArchive('cifar-10-batches-py', { data_batch_1: Buffer.from('x') });
    const url = serve('/py.tgz', { body: other.bytes });
    const dir = freshDir();
    await expect(fetchCifar({ dataset: 'cifar10', to: dir, url, md5: other.md5 })).rejects.toThrow(/binary version/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('reports HTTP errors', async () => {
    const dir = freshDir();
    await expect(fetchCifar({ dataset: 'cifar10', to: dir, url: `${base}/missing.tgz`, md5: cifar10.md5 })).rejects.toThrow(/HTTP 404/);
    serve('/down.tgz', { body: Buffer.alloc(0), status: 503 });
    const err = await fetchCifar({ dataset: 'cifar10', to: dir, url: `${base}/down.tgz`, retries: 1, retryDelayMs: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/HTTP 503/);
    expect(log.filter((l) => l.path === '/down.tgz')).toHaveLength(2);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('refuses a redirect to a file: URL (or any non-http scheme) as a user error', async () => {
    const dir = freshDir();
    const url = serve('/moved.tgz', { body: Buffer.alloc(0), status: 302, location: 'file:///etc/passwd' });
    const err = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5, retries: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/redirected to "file:\/\/\/etc\/passwd", not an http:\/\/ or https:\/\/ URL; use --url/);
    expect(fs.existsSync(dir)).toBe(false);
    // A chain of redirects ending in one, through the CLI: exit code 2, one line.
    serve('/hop.tgz', { body: Buffer.alloc(0), status: 301, location: '/moved.tgz' });
    const r = await cli(['data', 'fetch', 'cifar10', '--to', dir, '--url', `${base}/hop.tgz`, '--md5', cifar10.md5]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/redirected to "file:\/\/\/etc\/passwd"/);
    serve('/bad.tgz', { body: Buffer.alloc(0), status: 302, location: 'http://[not-an-address' });
    await expect(fetchCifar({ dataset: 'cifar10', to: dir, url: `${base}/bad.tgz`, md5: cifar10.md5 })).rejects.toThrow(/not a valid URL/);
  });

  it('replaces an existing dataset with --force', async () => {
    const url = serve('/a.tgz', { body: cifar10.bytes });
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, 'cifar-10-batches-bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'cifar-10-batches-bin', 'old.bin'), 'old');
    const r = await fetchCifar({ dataset: 'cifar10', to: dir, url, md5: cifar10.md5, force: true, keepArchive: true });
    expect(r.alreadyPresent).toBe(false);
    expect(fs.existsSync(path.join(dir, 'cifar-10-batches-bin', 'old.bin'))).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['cifar-10-batches-bin', 'cifar-10-binary.tar.gz']);
    expect(await md5File(path.join(dir, 'cifar-10-binary.tar.gz'))).toBe(cifar10.md5);
  });
});

describe('ImageNet16-120', () => {
  const real = path.join(SHARED, 'ImageNet16', 'train_data_batch_1');

  it('explains where to obtain the archives', () => {
    const text = imagenet16Instructions('/data');
    expect(text).toMatch(/image-net\.org/);
    expect(text).toMatch(/Imagenet16_train\.tar\.gz/);
    expect(text).toMatch(/Imagenet16_val\.tar\.gz/);
    expect(text).toMatch(/--from/);
  });

  it('accepts the real pickle and rejects others', async () => {
    await expect(checkImagenetPickle(real)).resolves.toBeUndefined();
    const proto1 = path.join(tmpRoot, 'train_data_batch_3'); // no PROTO opcode, as protocol 0/1 pickles of Python 2
    fs.writeFileSync(proto1, fs.readFileSync(real).subarray(2));
    await expect(checkImagenetPickle(proto1)).resolves.toBeUndefined();
    const bad = path.join(tmpRoot, 'val_data');
    fs.writeFileSync(bad, 'not a pickle at all, just some text to be long enough for the check.');
    await expect(checkImagenetPickle(bad)).rejects.toThrow(/val_data: not a Python pickle/);
    const truncated = path.join(tmpRoot, 'train_data_batch_9');
    fs.writeFileSync(truncated, fs.readFileSync(real).subarray(0, 5000));
    await expect(checkImagenetPickle(truncated)).rejects.toThrow(/truncated/);
  });

  it('installs from a folder', async () => {
    const dir = freshDir();
    const r = await installImageNet16({ from: [path.join(SHARED, 'ImageNet16')], to: dir });
    expect(r.installed).toEqual(['train_data_batch_1']);
    expect(r.missing).toContain('val_data');
    expect(r.missing).toHaveLength(10);
    expect(fs.readFileSync(path.join(dir, 'ImageNet16', 'train_data_batch_1')).equals(fs.readFileSync(real))).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['ImageNet16']);
  });

  it('installs from train and val archives in the official layout', async () => {
    const src = fs.mkdtempSync(path.join(tmpRoot, 'in16-'));
    fs.mkdirSync(path.join(src, 'Imagenet16_train'));
    fs.mkdirSync(path.join(src, 'Imagenet16_val'));
    fs.copyFileSync(real, path.join(src, 'Imagenet16_train', 'train_data_batch_1'));
    fs.copyFileSync(real, path.join(src, 'Imagenet16_val', 'val_data'));
    await tar.c({ gzip: true, file: path.join(src, 'Imagenet16_train.tar.gz'), cwd: src }, ['Imagenet16_train']);
    await tar.c({ gzip: true, file: path.join(src, 'Imagenet16_val.tar.gz'), cwd: src }, ['Imagenet16_val']);
    const dir = freshDir();
    const r = await installImageNet16({ from: [path.join(src, 'Imagenet16_train.tar.gz'), path.join(src, 'Imagenet16_val.tar.gz')], to: dir });
    expect(r.installed).toEqual(['train_data_batch_1', 'val_data']);
    expect(fs.readdirSync(path.join(dir, 'ImageNet16')).sort()).toEqual(['train_data_batch_1', 'val_data']);
    expect(fs.readdirSync(dir)).toEqual(['ImageNet16']); // staging folder removed
  });

  it('refuses a file that is not an ImageNet16 pickle and installs nothing', async () => {
    const src = fs.mkdtempSync(path.join(tmpRoot, 'in16bad-'));
    fs.copyFileSync(real, path.join(src, 'train_data_batch_1'));
    fs.writeFileSync(path.join(src, 'val_data'), Buffer.alloc(1000, 1));
    const dir = freshDir();
    await expect(installImageNet16({ from: [src], to: dir })).rejects.toThrow(/val_data: not a Python pickle/);
    expect(fs.existsSync(dir)).toBe(false);
    await expect(installImageNet16({ from: [path.join(src, 'nope')], to: dir })).rejects.toThrow(InputError);
  });
});

describe('mfnas data fetch (CLI)', () => {
  it('fetches with --url/--md5 and prints where the data went', async () => {
    const url = serve('/cli.tgz', { body: cifar10.bytes });
    const dir = freshDir();
    const ok = await cli(['data', 'fetch', 'cifar10', '--to', dir, '--url', url, '--md5', cifar10.md5]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(path.join(dir, 'cifar-10-batches-bin'));
    expect(ok.stderr).toMatch(/MD5 [0-9a-f]{32}/);
    // Wrong checksum: a user error (exit code 2) naming the problem.
    const bad = await cli(['data', 'fetch', 'cifar100', '--to', dir, '--url', url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/checksum mismatch/);
    // ImageNet16-120 without --from: instructions, exit code 2.
    const inet = await cli(['data', 'fetch', 'ImageNet16-120', '--to', dir]);
    expect(inet.code).toBe(2);
    expect(inet.stdout).toMatch(/image-net\.org/);
    // --to may come from the global --data-dir.
    const viaGlobal = await cli(['--data-dir', dir, 'data', 'fetch', 'ImageNet16-120', '--from', path.join(SHARED, 'ImageNet16')]);
    expect(viaGlobal.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'ImageNet16', 'train_data_batch_1'))).toBe(true);
  });
});

/**
 * Setting up the image datasets in the layout the loaders read (../shared/data/README.md):
 *
 *   DIR/cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin, batches.meta.txt}
 *   DIR/cifar-100-binary/{train.bin, test.bin, *_label_names.txt}
 *   DIR/ImageNet16/{train_data_batch_1..10, val_data}
 *
 * CIFAR: `fetchCifar` downloads the official *binary version* archive (resumable, MD5-checked,
 * see download.ts), extracts it into a temporary directory inside DIR and renames the result
 * into place, so DIR never holds a half-extracted dataset.
 *
 * ImageNet16-120 cannot be downloaded without accepting the ImageNet licence:
 * `imagenet16Instructions()` says where to get it and `installImageNet16` copies/extracts the
 * pickle files from archives or folders the user already has, and installs them all or none.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { IMAGENET16_DIR } from '../datasets/imagenet16.js';
import { moveFilesIntoPlace } from '../util/atomicWrite.js';
import { DataError, InputError, quotePath } from '../util/errors.js';
import { md5File, normalizeMd5 } from './checksum.js';
import { downloadFile } from './download.js';
import { extractTar, listFiles, looksLikeTar } from './extract.js';
import { describeKind } from '../util/regularFile.js';

export type CifarName = 'cifar10' | 'cifar100';

export interface CifarSpec {
  readonly name: CifarName;
  readonly url: string;
  /** MD5 published on https://www.cs.toronto.edu/~kriz/cifar.html. */
  readonly md5: string;
  readonly archiveName: string;
  /** Top-level directory inside the archive, and the directory the loaders read. */
  readonly dirName: string;
  /** Bytes per record in the .bin files (label byte(s) + 3072 pixels). */
  readonly recordBytes: number;
  readonly expectedFiles: readonly string[];
}

export const CIFAR_SPECS: Readonly<Record<CifarName, CifarSpec>> = {
  cifar10: {
    name: 'cifar10',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    archiveName: 'cifar-10-binary.tar.gz',
    dirName: 'cifar-10-batches-bin',
    recordBytes: 1 + 3072,
    expectedFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin', 'batches.meta.txt'],
  },
  cifar100: {
    name: 'cifar100',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    archiveName: 'cifar-100-binary.tar.gz',
    dirName: 'cifar-100-binary',
    recordBytes: 2 + 3072,
    expectedFiles: ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt'],
  },
};

export interface FetchCifarOptions {
  dataset: CifarName;
  /** Data directory (created if needed); the dataset lands in `to/<dirName>`. */
  to: string;
  /** Override the download URL (a mirror); the published MD5 is still checked unless `md5` is given. */
  url?: string;
  /** Expected MD5 (hex); default the published one; null = do not check. */
  md5?: string | null;
  /** Replace an existing dataset directory (default: keep it and skip the download). */
  force?: boolean;
  /** Keep the verified archive next to the dataset after extraction (default false). */
  keepArchive?: boolean;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  onProgress?: (received: number, total: number | null) => void;
}

export interface FetchCifarResult {
  dataset: CifarName;
  /** The dataset directory (`to/cifar-10-batches-bin` or `to/cifar-100-binary`). */
  path: string;
  /** True if the directory already existed and nothing was done (use `force` to replace it). */
  alreadyPresent: boolean;
  /** True if bytes were downloaded in this call (false: a verified archive was already in DIR). */
  downloaded: boolean;
  /** Bytes of the archive (0 if alreadyPresent). */
  archiveBytes: number;
  md5: string | null;
  /** Bytes already present in a `.part` file that this call resumed from. */
  resumedFrom: number;
  /** The files now in the dataset directory. */
  files: string[];
  /** Non-fatal findings (e.g. files of the official archive that are absent). */
  warnings: string[];
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Create `dir` (and parents); returns the topmost directory that did not exist, or null. */
async function ensureDir(dir: string): Promise<string | null> {
  return (await fsp.mkdir(dir, { recursive: true })) ?? null;
}

/** Remove `created` (made by ensureDir) if it is empty, so a failed run leaves nothing behind. */
async function removeIfEmptyTree(created: string | null): Promise<void> {
  if (created === null) return;
  try {
    const files = await listFiles(created);
    if (files.length === 0) await fsp.rm(created, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

/** Checks an extracted CIFAR directory; returns warnings (missing optional files). */
async function checkCifarDir(dir: string, spec: CifarSpec, source: string): Promise<{ files: string[]; warnings: string[] }> {
  if (!(await exists(dir))) {
    throw new DataError(
      `${source}: the archive has no top-level folder '${spec.dirName}/' — it is not the CIFAR ${spec.name === 'cifar10' ? '10' : '100'} ` +
        `*binary version* (${spec.archiveName}); the python or matlab versions are not supported`,
    );
  }
  const files = (await fsp.readdir(dir)).sort();
  const bins = files.filter((f) => f.endsWith('.bin'));
  if (bins.length === 0) {
    throw new DataError(`${source}: '${spec.dirName}/' contains no .bin file; use the CIFAR binary version (${spec.archiveName})`);
  }
  for (const b of bins) {
    const size = (await fsp.stat(path.join(dir, b))).size;
    if (size === 0 || size % spec.recordBytes !== 0) {
      throw new DataError(
        `${source}: ${spec.dirName}/${b} has ${size} bytes, not a whole number of ${spec.recordBytes}-byte records (truncated or wrong dataset)`,
      );
    }
  }
  const warnings = spec.expectedFiles
    .filter((f) => !files.includes(f))
    .map((f) => `${spec.dirName}/${f} is not in the archive (the official archive has it)`);
  return { files, warnings };
}

/** Download, verify and install CIFAR-10 or CIFAR-100 (binary version) under `options.to`. */
export async function fetchCifar(options: FetchCifarOptions): Promise<FetchCifarResult> {
  const spec = CIFAR_SPECS[options.dataset];
  if (!spec) throw new InputError(`cannot download '${String(options.dataset)}': use cifar10 or cifar100`);
  const to = path.resolve(options.to);
  const target = path.join(to, spec.dirName);
  const url = options.url ?? spec.url;
  const md5 = options.md5 === null ? null : options.md5 !== undefined ? normalizeMd5(options.md5) : spec.md5;

  if ((await exists(target)) && !options.force) {
    return {
      dataset: spec.name, path: target, alreadyPresent: true, downloaded: false, archiveBytes: 0, md5: null,
      resumedFrom: 0, files: (await fsp.readdir(target)).sort(), warnings: [],
    };
  }
  if (await exists(to)) {
    const st = await fsp.stat(to);
    if (!st.isDirectory()) throw new InputError(`--to ${quotePath(to)} is a file; give a directory`);
  }
  const created = await ensureDir(to);
  const archive = path.join(to, spec.archiveName);
  let stage: string | null = null;
  let archiveVerified = false;
  try {
    // A complete archive from an earlier run (e.g. extraction was interrupted) is reused.
    let downloaded = false;
    let resumedFrom = 0;
    let archiveMd5: string | null = null;
    if (await exists(archive)) {
      archiveMd5 = await md5File(archive);
      if (md5 !== null && archiveMd5 !== md5) {
        await fsp.rm(archive, { force: true });
        archiveMd5 = null;
      }
    }
    if (archiveMd5 === null) {
      const r = await downloadFile({
        url, dest: archive, md5, retries: options.retries, retryDelayMs: options.retryDelayMs,
        idleTimeoutMs: options.idleTimeoutMs, onProgress: options.onProgress,
      });
      downloaded = true;
      resumedFrom = r.resumedFrom;
      archiveMd5 = r.md5;
    }
    archiveVerified = true;
    const archiveBytes = (await fsp.stat(archive)).size;

    stage = await fsp.mkdtemp(path.join(to, `.mfnas-fetch-${spec.name}-`));
    await extractTar(archive, stage);
    const staged = path.join(stage, spec.dirName);
    const { files, warnings } = await checkCifarDir(staged, spec, archive);
    const previous = path.join(stage, 'previous');
    const hadPrevious = await exists(target);
    if (hadPrevious) await fsp.rename(target, previous);
    try {
      await fsp.rename(staged, target);
    } catch (e) {
      // The stage is deleted below: put the dataset that was there back first.
      if (hadPrevious) await fsp.rename(previous, target).catch(() => undefined);
      throw e;
    }
    if (!options.keepArchive) await fsp.rm(archive, { force: true });
    return {
      dataset: spec.name, path: target, alreadyPresent: false, downloaded, archiveBytes,
      md5: archiveMd5, resumedFrom, files, warnings,
    };
  } catch (e) {
    // A verified archive is kept after an I/O failure (disk full, ...) so that a re-run does not
    // download it again; an archive whose contents are wrong (DataError) is removed.
    if (!archiveVerified || e instanceof DataError) await fsp.rm(archive, { force: true }).catch(() => undefined);
    throw e;
  } finally {
    if (stage !== null) await fsp.rm(stage, { recursive: true, force: true }).catch(() => undefined);
    await removeIfEmptyTree(created);
  }
}

// ---------------------------------------------------------------------------------------
// ImageNet16-120

export const IMAGENET16_FILES: readonly string[] = [
  ...Array.from({ length: 10 }, (_, i) => `train_data_batch_${i + 1}`),
  'val_data',
];
const IMAGENET16_NAME = /^(train_data_batch_\d+|val_data)$/;

/** Where to obtain ImageNet16-120 and how to install it (printed by `mfnas data fetch ImageNet16-120`). */
export function imagenet16Instructions(to = '<DIR>'): string {
  return [
    'ImageNet16-120 cannot be downloaded automatically: the ImageNet licence requires an account.',
    'NAS-Bench-201 / NATS-Bench use the downsampled 16x16 ImageNet of Chrabaszcz et al. (2017), "Imagenet16":',
    '  1. Log in at https://image-net.org/download-images (request access with your institution e-mail if needed).',
    '  2. In its "Downsampled ImageNet" section, download the 16x16 training and validation data in pickle',
    '     format (the files train_data_batch_1..10 and val_data; NAS-Bench-201 uses them as',
    '     Imagenet16_train.tar.gz and Imagenet16_val.tar.gz). If you receive .zip files, unzip them and pass the folders.',
    '  3. Install them:',
    `     mfnas data fetch ImageNet16-120 --to ${to} --from Imagenet16_train.tar.gz Imagenet16_val.tar.gz`,
    `     which checks the pickle files and places them in ${to}/${IMAGENET16_DIR}/.`,
    'ImageNet16-120 uses the images with labels 1..120 of these files.',
  ].join('\n');
}

const HEAD_BYTES = 64 * 1024;
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * Light check that `file` is a downsampled-ImageNet pickle: a protocol-2+ pickle whose top
 * object is a dict holding a numpy array `data` and a list `labels` (the header references
 * numpy's array reconstruction; the `labels` key and the final STOP opcode are present).
 * The pixel data are not parsed.
 */
export async function checkImagenetPickle(file: string): Promise<void> {
  const fail = (problem: string) =>
    new DataError(`${file}: ${problem}; expected an ImageNet16 pickle from Imagenet16_train/_val — re-download or re-extract it`);
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size < 64) throw fail(`only ${size} bytes`);
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await fh.read(head, 0, head.length, 0);
    // The top object must be a dict: PROTO n (n = 2..5) [FRAME] EMPTY_DICT for protocol 2+,
    // EMPTY_DICT for protocol 1, '(dp' (MARK DICT PUT) for protocol 0 (Python 2 pickles).
    let p = 0;
    if (head[0] === 0x80) {
      if (head[1] < 2 || head[1] > 5) throw fail(`unknown pickle protocol ${head[1]}`);
      p = 2;
      if (head[p] === 0x95) p += 9; // FRAME + 8-byte length
    }
    const isDict = head[p] === 0x7d /* EMPTY_DICT */ || head.toString('latin1', p, p + 3) === '(dp';
    if (!isDict) throw fail(head[0] === 0x80 ? 'the pickled object is not a dict' : 'not a Python pickle');
    const text = head.toString('latin1');
    if (!text.includes('data')) throw fail("no 'data' entry");
    if (!text.includes('numpy') || !(text.includes('_reconstruct') || text.includes('ndarray'))) {
      throw fail("'data' is not a numpy array");
    }
    const tailLen = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    if (tail[tailLen - 1] !== 0x2e /* STOP */) throw fail('the file is truncated (no pickle STOP opcode at the end)');
    if (!text.includes('labels') && !tail.toString('latin1').includes('labels')) throw fail("no 'labels' entry");
  } finally {
    await fh.close();
  }
}

export interface InstallImageNet16Options {
  /** Archives (.tar, .tar.gz) and/or folders (searched recursively) or the pickle files themselves. */
  from: readonly string[];
  /** Data directory; files go to `to/ImageNet16/`. */
  to: string;
}

export interface InstallImageNet16Result {
  path: string;
  /** Names installed by this call. */
  installed: string[];
  /** Expected names (train_data_batch_1..10, val_data) still absent from the directory. */
  missing: string[];
}

/** Copy/extract the ImageNet16 pickle files into `to/ImageNet16/` after checking them. */
export async function installImageNet16(options: InstallImageNet16Options): Promise<InstallImageNet16Result> {
  if (options.from.length === 0) throw new InputError('no --from given: pass the ImageNet16 archives or folders (run `mfnas data fetch ImageNet16-120` for where to get them)');
  const to = path.resolve(options.to);
  const target = path.join(to, IMAGENET16_DIR);
  for (const src of options.from) {
    if (!(await exists(src))) throw new InputError(`--from ${quotePath(src)}: no such file or folder`);
  }
  const created = await ensureDir(to);
  let stage: string | null = null;
  try {
    stage = await fsp.mkdtemp(path.join(to, '.mfnas-imagenet16-'));
    const found = new Map<string, string>(); // name -> current path
    const add = (name: string, file: string, src: string) => {
      const prev = found.get(name);
      if (prev !== undefined) throw new InputError(`${name} is found twice (${quotePath(prev)} and ${quotePath(file)}); pass each file once`);
      found.set(name, file);
    };
    let n = 0;
    for (const src of options.from) {
      const st = await fsp.stat(src);
      // A FIFO or device named like a batch file would block the copy or never end.
      if (!st.isDirectory() && !st.isFile()) {
        throw new InputError(`--from ${quotePath(src)} is ${describeKind(st)}, not a file or folder: pass the ImageNet16 archives, folders or pickle files`);
      }
      if (st.isDirectory()) {
        for (const rel of await listFiles(src)) {
          const name = path.posix.basename(rel);
          if (IMAGENET16_NAME.test(name)) add(name, path.join(src, rel), src);
        }
      } else if (IMAGENET16_NAME.test(path.basename(src))) {
        add(path.basename(src), src, src);
      } else if (/\.zip$/i.test(src)) {
        throw new InputError(`--from ${quotePath(src)}: zip archives are not supported; unzip it and pass the folder`);
      } else if (looksLikeTar(src)) {
        const sub = path.join(stage, `src${n++}`);
        await extractTar(src, sub, { filter: (p) => IMAGENET16_NAME.test(path.posix.basename(p)) });
        for (const rel of await listFiles(sub)) add(path.posix.basename(rel), path.join(sub, rel), src);
      } else {
        throw new InputError(`--from ${quotePath(src)}: not a folder, a .tar/.tar.gz archive or a train_data_batch_*/val_data file`);
      }
    }
    if (found.size === 0) {
      throw new DataError(
        `no train_data_batch_* or val_data file in ${options.from.slice(0, 2).map(quotePath).join(', ')}${options.from.length > 2 ? ', …' : ''}; ` +
          'pass Imagenet16_train.tar.gz / Imagenet16_val.tar.gz or the folders extracted from them',
      );
    }
    for (const file of found.values()) await checkImagenetPickle(file);
    // Stage copies inside DIR (same filesystem), then rename them into place all or none.
    const staged = new Map<string, string>();
    for (const [name, file] of found) {
      if (file.startsWith(stage + path.sep)) {
        staged.set(name, file);
      } else {
        const dst = path.join(stage, `copy-${name}`);
        await fsp.copyFile(file, dst);
        staged.set(name, dst);
      }
    }
    moveFilesIntoPlace([...staged].map(([name, file]) => ({ from: file, to: path.join(target, name) })));
    const present = new Set(await fsp.readdir(target));
    const installed = [...found.keys()].sort(byBatchName);
    return { path: target, installed, missing: IMAGENET16_FILES.filter((f) => !present.has(f)) };
  } finally {
    if (stage !== null) await fsp.rm(stage, { recursive: true, force: true }).catch(() => undefined);
    await removeIfEmptyTree(created);
  }
}

function byBatchName(a: string, b: string): number {
  const num = (s: string) => (s === 'val_data' ? 1e9 : Number(s.replace(/\D/g, '')));
  return num(a) - num(b);
}

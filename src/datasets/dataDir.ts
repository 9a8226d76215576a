/**
 * Where the data lives. Order of precedence:
 *   1. an explicit option (`--data-dir`),
 *   2. the environment variable MFNAS_DATA_DIR,
 *   3. `../shared/data` relative to the current working directory, if it exists,
 *   4. `../shared/data` relative to the package root (found from this module's location), if it exists.
 * An explicit option or the environment variable is taken as given (not silently skipped when it
 * does not exist): `requireDataDir` then reports that it is missing.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '../util/errors.js';

export const DATA_DIR_ENV = 'MFNAS_DATA_DIR';

export interface DataDirOptions {
  /** Explicit directory (e.g. from `--data-dir`); wins over everything else. */
  dataDir?: string | null;
  /** Environment to read MFNAS_DATA_DIR from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Working directory for the relative default (default process.cwd()). */
  cwd?: string;
  /** Package root for the last fallback (default: found from this module; null disables it). */
  packageRoot?: string | null;
}

export interface DataDirCandidate {
  path: string;
  source: 'option' | 'env' | 'cwd' | 'package';
}

export interface DataDirResolution {
  /** The chosen directory (absolute), or null if none was found. */
  dir: string | null;
  source: DataDirCandidate['source'] | null;
  /** Every place looked at, in order. */
  tried: DataDirCandidate[];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

let packageRootCache: string | null | undefined;

/** The mfnas package root: the nearest ancestor of this module with a package.json. */
export function packageRoot(): string | null {
  if (packageRootCache !== undefined) return packageRootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  packageRootCache = null;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      packageRootCache = dir;
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return packageRootCache;
}

export function resolveDataDirDetailed(opt: DataDirOptions = {}): DataDirResolution {
  const env = opt.env ?? process.env;
  const cwd = opt.cwd ?? process.cwd();
  const tried: DataDirCandidate[] = [];
  const explicit = opt.dataDir?.trim();
  if (explicit) {
    const path = resolve(cwd, explicit);
    tried.push({ path, source: 'option' });
    return { dir: path, source: 'option', tried };
  }
  const fromEnv = env[DATA_DIR_ENV]?.trim();
  if (fromEnv) {
    const path = resolve(cwd, fromEnv);
    tried.push({ path, source: 'env' });
    return { dir: path, source: 'env', tried };
  }
  const candidates: DataDirCandidate[] = [{ path: resolve(cwd, '../shared/data'), source: 'cwd' }];
  const root = opt.packageRoot === undefined ? packageRoot() : opt.packageRoot;
  if (root) {
    const p = resolve(root, '../shared/data');
    if (p !== candidates[0].path) candidates.push({ path: p, source: 'package' });
  }
  for (const c of candidates) {
    tried.push(c);
    if (isDir(c.path)) return { dir: c.path, source: c.source, tried };
  }
  return { dir: null, source: null, tried };
}

/** The data directory, or null when none is configured or found. */
export function resolveDataDir(opt: DataDirOptions = {}): string | null {
  return resolveDataDirDetailed(opt).dir;
}

const HOW_TO_FIX =
  `pass --data-dir <dir>, set ${DATA_DIR_ENV}=<dir>, or run \`mfnas data fetch\` to download the datasets`;

/** The data directory; throws a DataError saying where it looked and how to fix it. */
export function requireDataDir(opt: DataDirOptions | string = {}): string {
  const o = typeof opt === 'string' ? { dataDir: opt } : opt;
  const r = resolveDataDirDetailed(o);
  if (r.dir !== null && isDir(r.dir)) return r.dir;
  if (r.dir !== null) {
    const what = r.source === 'option' ? '--data-dir' : DATA_DIR_ENV;
    throw new DataError(`data directory ${r.dir} (from ${what}) does not exist or is not a directory: ${HOW_TO_FIX}`);
  }
  const where = r.tried.map((c) => c.path).join(', ');
  throw new DataError(`no data directory found (looked in ${where}; ${DATA_DIR_ENV} not set): ${HOW_TO_FIX}`);
}

/**
 * Archive extraction (tar, optionally gzip-compressed) with the `tar` package.
 * Only regular files and directories are written: links, devices and absolute or `..` paths
 * are refused (tar's defaults plus a type filter), so an archive cannot write outside `cwd`.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { DataError } from '../util/errors.js';
import { pathKind } from '../util/regularFile.js';

const WRITABLE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

export interface ExtractOptions {
  /** Keep only entries for which this returns true (path as stored in the archive). */
  filter?: (entryPath: string) => boolean;
}

/** True if the file starts like a gzip stream or an (uncompressed) ustar/GNU tar archive. */
export function looksLikeTar(file: string): boolean {
  let fd: number | null = null;
  // A FIFO or device would block or never end: only a regular file can be an archive.
  if (pathKind(file).kind !== 'file') return false;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(512);
    const n = fs.readSync(fd, head, 0, 512, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
    return n >= 262 && head.toString('latin1', 257, 262) === 'ustar';
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * Extract `archive` (.tar, .tar.gz, .tgz; compression is detected) into the directory `destDir`.
 * Throws a DataError naming the archive if it is corrupt or truncated.
 *
 * The extraction is synchronous on purpose: tar's asynchronous extractor rejects as soon as it
 * meets a corrupt block while file writes it already started are still in flight, so a cleanup
 * right after the failure could run before those writes land and leave files behind. The
 * synchronous extractor has finished every file operation when it throws.
 */
export async function extractTar(archive: string, destDir: string, options: ExtractOptions = {}): Promise<void> {
  await fsp.mkdir(destDir, { recursive: true });
  try {
    tar.x({
      sync: true,
      file: archive,
      cwd: destDir,
      strict: true,
      preserveOwner: false,
      filter: (p, entry) => {
        const type = 'type' in entry ? entry.type : 'File';
        if (!WRITABLE_TYPES.has(type)) return false;
        return options.filter ? type === 'Directory' || options.filter(p) : true;
      },
    });
  } catch (e) {
    throw new DataError(
      `${archive}: cannot extract (${(e as Error).message}); the archive is truncated, corrupt or not a tar/tar.gz file. ` +
        'Delete it and download it again',
    );
  }
}

/** All regular files under `dir`, recursively (paths relative to `dir`, '/'-separated). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

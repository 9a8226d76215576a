/**
 * Output files that appear whole or not at all, and output paths checked before the work that
 * produces them (a bad --out must fail in a second, not after an hour of scoring).
 *
 * Writing: every file goes to a temporary name in its own folder (same filesystem, so the
 * final rename is atomic), is flushed, and is renamed into place only when all files of the
 * output have been written. If any step fails, the files already renamed are put back as they
 * were (the previous version is kept under a backup name until the end), the temporaries are
 * removed, and so are the folders this call created.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DataError, InputError, quotePath } from './errors.js';

export interface OutputFile {
  path: string;
  data: string | Uint8Array;
}

function siblingName(file: string, kind: 'tmp' | 'bak'): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function lstatOrNull(p: string, follow = false): fs.Stats | null {
  try {
    return follow ? fs.statSync(p) : fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // ENOTDIR: a parent is a file
    throw e;
  }
}

function reason(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function checkWritableDir(dir: string, flag: string): void {
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new InputError(`${flag}: cannot write in the folder ${quotePath(dir)}; choose a folder you can write to`);
  }
}

/** `file` is not an existing folder or special file. */
function checkTargetFile(file: string, flag: string): void {
  const st = lstatOrNull(file, true);
  if (st?.isDirectory()) throw new InputError(`${flag}: ${quotePath(file)} is a folder; give a file name`);
  if (st && !st.isFile()) throw new InputError(`${flag}: ${quotePath(file)} is not a regular file; give a file name`);
}

/**
 * Check that `file` can be written: its folder exists and is writable, and it is not a folder.
 * Throws an InputError naming `flag` (e.g. '--out') otherwise.
 */
export function checkOutputFile(file: string, flag: string): void {
  const abs = path.resolve(file);
  try {
    checkTargetFile(abs, flag);
    const parent = path.dirname(abs);
    if (!fs.statSync(parent).isDirectory()) {
      throw new InputError(`${flag}: ${quotePath(parent)} is not a folder; give a file in an existing folder`);
    }
    checkWritableDir(parent, flag);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InputError(`${flag}: the folder ${quotePath(path.dirname(abs))} does not exist; create it first or choose another path`);
    }
    if (code === 'ENOTDIR') throw new InputError(`${flag}: ${quotePath(file)} goes through a file, not a folder; choose another path`);
    throw new InputError(`${flag}: cannot use ${quotePath(file)} (${reason(e)}); choose another path`);
  }
}

/**
 * Check that `dir` is an existing writable folder or can be created (its nearest existing
 * ancestor is a writable folder), and that none of `names` inside it is a folder.
 */
export function checkOutputDir(dir: string, flag: string, names: readonly string[] = []): void {
  const abs = path.resolve(dir);
  try {
    let existing = abs;
    let st = lstatOrNull(existing);
    while (st === null && path.dirname(existing) !== existing) {
      existing = path.dirname(existing);
      st = lstatOrNull(existing);
    }
    const isDir = st !== null && fs.statSync(existing).isDirectory(); // follows a symlink to a folder
    if (!isDir) {
      const what = existing === abs ? `${quotePath(abs)} exists and is not a folder` : `${quotePath(existing)} is a file, so ${quotePath(abs)} cannot be created`;
      throw new InputError(`${flag}: ${what}; choose another folder`);
    }
    checkWritableDir(existing, flag);
    if (existing === abs) for (const name of names) checkTargetFile(path.join(abs, name), flag);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${flag}: cannot use ${quotePath(dir)} (${reason(e)}); choose another folder`);
  }
}

function writeFlushed(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeQuietly(p: string, recursive = false): void {
  try {
    fs.rmSync(p, { force: true, recursive });
  } catch {
    // best effort: the error being reported is the one that matters
  }
}

/** Keep the current version of `file` under `backup` without ever removing `file`. */
function backUp(file: string, backup: string): void {
  try {
    fs.linkSync(file, backup);
  } catch {
    fs.copyFileSync(file, backup, fs.constants.COPYFILE_EXCL);
  }
}

function writeError(file: string, e: unknown): DataError {
  return new DataError(`cannot write ${quotePath(file)} (${reason(e)}); nothing was changed. Check the folder is writable and has free space`);
}

/** Create the folders of `files`; the topmost folders created are added to `created`. */
function makeFolders(files: readonly string[], created: string[]): void {
  for (const dir of new Set(files.map((f) => path.dirname(f)))) {
    try {
      const first = fs.mkdirSync(dir, { recursive: true });
      if (first !== undefined) created.push(first);
    } catch (e) {
      throw writeError(dir, e);
    }
  }
}

/**
 * The renames of `moves`, all or nothing. A replaced file is first backed up (hard link, or a
 * copy), so its path never disappears; on failure the renamed targets get their previous
 * version back, and the folders in `created` are removed.
 */
function commit(moves: readonly { from: string; to: string }[], created: readonly string[]): void {
  const backups = new Map<string, string | null>(); // target -> its backup (null: it did not exist)
  const renamed: string[] = [];
  let current = '';
  try {
    for (const { to } of moves) {
      current = to;
      if (backups.has(to)) continue;
      const st = lstatOrNull(to);
      if (st?.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
      const backup = st ? siblingName(to, 'bak') : null;
      if (backup) backUp(to, backup);
      backups.set(to, backup);
    }
    for (const { from, to } of moves) {
      current = to;
      fs.renameSync(from, to);
      renamed.push(to);
    }
  } catch (e) {
    const keep = new Set<string>();
    for (const to of renamed.reverse()) {
      const backup = backups.get(to) ?? null;
      try {
        if (backup) fs.renameSync(backup, to);
        else fs.rmSync(to, { force: true });
      } catch {
        if (backup) keep.add(backup); // never delete the only copy of the previous version
      }
    }
    for (const backup of backups.values()) if (backup && !keep.has(backup)) removeQuietly(backup);
    for (const dir of created) removeQuietly(dir, true);
    throw writeError(current, e);
  }
  for (const backup of backups.values()) if (backup) removeQuietly(backup);
}

/**
 * Move `from` → `to` for every pair, all or nothing, creating the folders of the targets.
 * On failure every target is as it was, and the `from` files are left for the caller to remove.
 */
export function moveFilesIntoPlace(moves: readonly { from: string; to: string }[]): void {
  const abs = moves.map((m) => ({ from: m.from, to: path.resolve(m.to) }));
  const created: string[] = [];
  try {
    makeFolders(abs.map((m) => m.to), created);
    commit(abs, created);
  } catch (e) {
    for (const dir of created) removeQuietly(dir, true);
    throw e;
  }
}

/** Write several files all or nothing (see the module comment). */
export function writeFilesAtomic(files: readonly OutputFile[]): void {
  const targets = files.map((f) => path.resolve(f.path));
  const created: string[] = [];
  const temps: string[] = [];
  try {
    makeFolders(targets, created);
    for (let i = 0; i < files.length; i++) {
      const tmp = siblingName(targets[i], 'tmp');
      temps.push(tmp);
      try {
        writeFlushed(tmp, files[i].data);
      } catch (e) {
        throw writeError(targets[i], e);
      }
    }
    commit(targets.map((to, i) => ({ from: temps[i], to })), created);
  } catch (e) {
    for (const dir of created) removeQuietly(dir, true);
    throw e;
  } finally {
    for (const t of temps) removeQuietly(t);
  }
}

/** Write one file atomically: readers see the old contents or the new, never a partial file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ path: file, data }]);
}

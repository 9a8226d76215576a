/**
 * Reading a file that is what it claims to be: a regular file (after following symlinks), of a
 * bounded size, read through one descriptor so the check and the read see the same file.
 *
 * Why not `readFileSync`: a FIFO named `x.png` blocks it forever, a symlink to `/dev/zero` makes it
 * allocate until the process dies, and a directory gives a raw EISDIR. Opening with O_NONBLOCK
 * returns at once for a FIFO without a writer; `fstat` on the open descriptor then tells its kind
 * before a byte is read.
 */
import fs from 'node:fs';
import { DataError, quotePath } from './errors.js';

/** What a path turned out to be, for messages ("a FIFO", "a directory", ...). */
export function describeKind(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface RegularFileOptions {
  /** What the file is meant to be, for messages: "the image", "the checkpoint", ... */
  readonly what: string;
  /** The fix, for messages: "give a PNG or JPEG file". */
  readonly hint: string;
  /** Refuse larger files before reading them (default: no limit beyond Node's buffer size). */
  readonly maxBytes?: number;
}

/** Why `path` cannot be read as a regular file (a DataError naming it), from an errno code or its kind. */
function refusal(path: string, o: RegularFileOptions, why: string): DataError {
  return new DataError(`${o.what} ${quotePath(path)} ${why}: ${o.hint}`);
}

function errnoText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String((e as Error).message ?? e);
}

function checkStat(path: string, st: fs.Stats, o: RegularFileOptions): void {
  if (!st.isFile()) throw refusal(path, o, `is ${describeKind(st)}, not a regular file`);
  if (o.maxBytes !== undefined && st.size > o.maxBytes) {
    throw refusal(path, o, `is ${st.size.toLocaleString('en-US')} bytes, over the limit of ${o.maxBytes.toLocaleString('en-US')}`);
  }
}

const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** The bytes of a regular file; a DataError naming it for anything else (missing, FIFO, device, too large). */
export function readRegularFileSync(path: string, o: RegularFileOptions): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw refusal(path, o, `cannot be opened (${errnoText(e)})`);
  }
  try {
    checkStat(path, fs.fstatSync(fd), o);
    return fs.readFileSync(fd);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw refusal(path, o, `cannot be read (${errnoText(e)})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** `readRegularFileSync` on libuv's thread pool (never blocks the event loop). */
export async function readRegularFile(path: string, o: RegularFileOptions): Promise<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, OPEN_FLAGS);
  } catch (e) {
    throw refusal(path, o, `cannot be opened (${errnoText(e)})`);
  }
  try {
    checkStat(path, await handle.stat(), o);
    return await handle.readFile();
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw refusal(path, o, `cannot be read (${errnoText(e)})`);
  } finally {
    await handle.close();
  }
}

/**
 * The kind of `path` after following symlinks, without opening it (so a FIFO is never opened):
 * 'file' for a regular file, 'dir', 'missing' for a dangling link or absent path, or the
 * description of anything else.
 */
export function pathKind(path: string): { kind: 'file' | 'dir' | 'missing' | 'other'; description: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    return { kind: 'missing', description: `cannot be read (${errnoText(e)})` };
  }
  if (st.isFile()) return { kind: 'file', description: describeKind(st) };
  if (st.isDirectory()) return { kind: 'dir', description: describeKind(st) };
  return { kind: 'other', description: describeKind(st) };
}

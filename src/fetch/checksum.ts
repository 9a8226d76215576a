/** MD5 of files (the CIFAR site publishes MD5 sums of its archives). */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DataError, InputError, quotePath } from '../util/errors.js';
import { pathKind } from '../util/regularFile.js';

/** Hex MD5 of a file, streamed (constant memory). */
export async function md5File(file: string): Promise<string> {
  // A FIFO would never end and a device never stop: only a regular file has a checksum.
  const kind = pathKind(file);
  if (kind.kind !== 'file') throw new DataError(`${quotePath(file)} ${kind.kind === 'missing' ? kind.description : `is ${kind.description}, not a regular file`}: remove it or give another --to folder`);
  const hash = createHash('md5');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Lower-case a user-supplied MD5, or throw an InputError if it is not 32 hex digits. */
export function normalizeMd5(text: string): string {
  const v = text.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(v)) {
    throw new InputError(`'${text}' is not an MD5 checksum: give 32 hexadecimal digits (e.g. --md5 c32a1d4ab5d03f1284b67883e8d87530)`);
  }
  return v;
}

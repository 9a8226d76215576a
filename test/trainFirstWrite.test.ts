/**
 * A run whose first checkpoint cannot be written (a full disk, a quota) leaves no empty run
 * folder behind (issue 21, problem 9): the write is made to fail here, as ENOSPC would.
 */
import { describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataError } from '../src/util/errors.js';
import { DATA } from './helpers/cli.js';

const failing = vi.hoisted(() => ({ name: '' }));

vi.mock('../src/util/atomicWrite.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/util/atomicWrite.js')>();
  return {
    ...real,
    writeFileAtomic: (file: string, data: string | Uint8Array) => {
      if (failing.name !== '' && path.basename(file) === failing.name) {
        throw new DataError(`cannot write ${file} (ENOSPC); nothing was changed. Check the folder is writable and has free space`);
      }
      real.writeFileAtomic(file, data);
    },
  };
});

const { train, CHECKPOINT_FILE } = await import('../src/train/index.js');

describe('the first checkpoint write fails', () => {
  it('leaves no run folder (nested folders created for it included), and the error is the write\'s', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-first-write-'));
    const out = path.join(root, 'runs', 'a');
    failing.name = CHECKPOINT_FILE;
    try {
      await expect(train({ out, space: 'sss', arch: '8:8:8:8:8', epochs: 1, batch: 32, limit: 32, testLimit: 16, dataDir: DATA }))
        .rejects.toThrow(/ENOSPC/);
    } finally {
      failing.name = '';
    }
    expect(fs.readdirSync(root)).toEqual([]);
  }, 60_000);
});

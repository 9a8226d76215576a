/**
 * Files that are not what their names claim, outside image folders and the queue: a FIFO or a
 * device where a command expects a text file, a table or an archive. Each must end in one line
 * and exit code 2, never a hang (a FIFO without a writer blocks a plain read forever) or an
 * allocation without end (a symlink to /dev/zero). Run as child processes with a deadline, since a
 * hang in this process would stall the test worker itself.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA, runCliWithin } from './helpers/cli.js';
import { expectOneLineErrorInTime } from './helpers/oneLine.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-hostile-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fifo(name: string): string {
  const p = path.join(tmp, name);
  execFileSync('mkfifo', [p]);
  return p;
}

/** Runs the CLI; a run still going after a minute is killed and reported as a hang. */
const runWithDeadline = (args: string[], env: Record<string, string> = {}) => runCliWithin(args, 60_000, env);
const expectRefused = expectOneLineErrorInTime;

describe('files that are not what they claim', { timeout: 120_000 }, () => {
  it('correlate --indices-file naming a FIFO or /dev/zero: one line, no hang', async () => {
    const pipe = fifo('indices.txt');
    const zero = path.join(tmp, 'zero.txt');
    fs.symlinkSync('/dev/zero', zero);
    const base = ['correlate', '--space', 'tss', '--dataset', 'cifar10', '--proxies', 'params', '--no-cache'];
    const [a, b] = await Promise.all([
      runWithDeadline([...base, '--indices-file', pipe]),
      runWithDeadline([...base, '--indices-file', zero]),
    ]);
    expectRefused(a, /indices-file .*indices\.txt.* is a FIFO \(named pipe\), not a regular file/);
    expectRefused(b, /indices-file .*zero\.txt.* is a character device, not a regular file/);
  });

  it('a benchmark table replaced by a FIFO: one line naming it, no hang', async () => {
    const dataDir = path.join(tmp, 'data');
    fs.mkdirSync(path.join(dataDir, 'nats-bench'), { recursive: true });
    for (const entry of fs.readdirSync(DATA)) {
      if (entry !== 'nats-bench') fs.symlinkSync(path.join(DATA, entry), path.join(dataDir, entry));
    }
    for (const f of fs.readdirSync(path.join(DATA, 'nats-bench'))) {
      if (f !== 'nats-tss-test-accuracy-200ep.csv') fs.symlinkSync(path.join(DATA, 'nats-bench', f), path.join(dataDir, 'nats-bench', f));
    }
    execFileSync('mkfifo', [path.join(dataDir, 'nats-bench', 'nats-tss-test-accuracy-200ep.csv')]);
    const r = await runWithDeadline(['arch', '--space', 'tss', '--dataset', 'cifar10', '--arch', '0'], { MFNAS_DATA_DIR: dataDir });
    // Found not to be a regular file, the table counts as absent: the message names it.
    expectRefused(r, /nats-tss-test-accuracy-200ep\.csv/);
  });

  it('natsbench import --from a FIFO: refused as neither folder nor archive, no hang', async () => {
    const pipe = fifo('NATS-tss-v1_0-3ffb9-simple.tar');
    const r = await runWithDeadline(['natsbench', 'import', '--space', 'tss', '--from', pipe, '--to', path.join(tmp, 'out')]);
    expectRefused(r, /--from .*: not a folder or a \.tar archive/);
  });

  it('data fetch ImageNet16-120 --from a FIFO named like a batch file: one line, no hang', async () => {
    const dir = path.join(tmp, 'imagenet');
    fs.mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'train_data_batch_1')]);
    const r = await runWithDeadline(['data', 'fetch', 'ImageNet16-120', '--to', path.join(tmp, 'in16'), '--from', path.join(dir, 'train_data_batch_1')]);
    expectRefused(r, /--from .*train_data_batch_1.* is a FIFO \(named pipe\), not a file or folder/);
  });
});

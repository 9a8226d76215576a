/**
 * Checkpoints that prove their bytes (issue 21, problem 5 and the export part of 6): damaged
 * safetensors headers, training states outside their schema, flipped tensor bytes, checkpoints
 * of the version before the checksum, and `export` of an interrupted run. Every damaged file is
 * a real checkpoint of a tiny run, edited; every refusal is exit 2 with one line naming the file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerExportCommand } from '../src/cli/commands/export.js';
import { interruptedMessage, registerTrainCommand } from '../src/cli/commands/train.js';
import { initEngine } from '../src/engine/backend.js';
import { CHECKPOINT_FILE, loadCheckpoint, loadTrainedNetwork, train } from '../src/train/index.js';
import { quoteDifference, stepOrExplain } from '../src/train/run.js';
import { clipAtWord } from '../src/util/errors.js';
import { DATA, runCli } from './helpers/cli.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';
import { expectOneLineError } from './helpers/oneLine.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-ckpt-'));
const SMALL = { space: 'sss', arch: '8:8:8:8:8', dataset: 'cifar10', epochs: 1, batch: 32, limit: 64, testLimit: 16, dataDir: DATA } as const;

/** A checkpoint file split into its header (parsed) and data section. */
interface Parts { header: Record<string, any>; data: Buffer }

function readParts(file: string): Parts {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: Buffer.from(bytes.subarray(8 + n)) };
}

function writeParts(file: string, { header, data }: Parts): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
}

let finished: string; // a run of 1 epoch, finished
let interrupted: string; // a run stopped after step 1 of 2 of epoch 1

/** A copy of `run`'s checkpoint in a new folder, edited by `edit`. */
function damaged(run: string, edit: (p: Parts) => void): string {
  const dir = tmp();
  const p = readParts(path.join(run, CHECKPOINT_FILE));
  edit(p);
  writeParts(path.join(dir, CHECKPOINT_FILE), p);
  return dir;
}

function editState(p: Parts, edit: (s: any) => void): void {
  const s = JSON.parse(p.header.__metadata__.state);
  edit(s);
  p.header.__metadata__.state = JSON.stringify(s);
}

const register = (program: Command) => {
  registerTrainCommand(program);
  registerExportCommand(program);
};
const inProcess = (args: string[]) => runCommandsInProcess(register, ['--data-dir', DATA, ...args]);

const expectOneLine = expectOneLineError;

beforeAll(async () => {
  await initEngine();
  finished = tmp();
  await train({ ...SMALL, out: finished });
  interrupted = tmp();
  const stop = new AbortController();
  const r = await train({ ...SMALL, out: interrupted, signal: stop.signal, onStep: () => stop.abort() });
  expect(r).toMatchObject({ interrupted: true, epochsDone: 0, step: 1 });
}, 120_000);

describe('the safetensors header is checked whole', () => {
  const firstTensor = (p: Parts) => Object.keys(p.header).find((k) => k !== '__metadata__')!;
  const cases: Array<[string, (p: Parts) => void, RegExp]> = [
    ['__metadata__ null', (p) => { p.header.__metadata__ = null; }, /__metadata__ is not an object of strings/],
    ['a metadata value that is not a string', (p) => { p.header.__metadata__.version = 2; }, /__metadata__ is not an object of strings/],
    ['a null tensor entry', (p) => { p.header[firstTensor(p)] = null; }, /is not an object/],
    ['negative data_offsets', (p) => { p.header[firstTensor(p)].data_offsets = [-8, 0]; }, /not two non-negative integers/],
    ['data_offsets that end before they begin', (p) => { const e = p.header[firstTensor(p)]; e.data_offsets = [e.data_offsets[1], e.data_offsets[0]]; }, /end before they begin/],
    ['a shape with a negative size', (p) => { p.header[firstTensor(p)].shape = [-1]; }, /shape that is not a list of non-negative integers/],
    ['a shape that does not fit the offsets', (p) => { p.header[firstTensor(p)].shape.push(2); }, /offsets \[\d+, \d+\] that do not fit its shape/],
    ['another dtype', (p) => { p.header[firstTensor(p)].dtype = 'F16'; }, /is "F16", not F32/],
    ['two tensors on the same bytes', (p) => {
      const [a, b] = Object.keys(p.header).filter((k) => k.startsWith('momentum/'));
      p.header[b] = { ...p.header[a] };
    }, /overlaps another tensor|belong to no tensor/],
    ['a tensor missing from the header (a hole)', (p) => { delete p.header[firstTensor(p)]; }, /belong to no tensor/],
    ['bytes after the last tensor', (p) => { p.data = Buffer.concat([p.data, Buffer.alloc(16)]); }, /16 bytes after the last tensor belong to no tensor/],
    ['a truncated data section', (p) => { p.data = p.data.subarray(0, p.data.length - 4); }, /ends past the end of the file/],
  ];
  for (const [name, edit, message] of cases) {
    it(`${name}: train --resume and export exit 2 with one line naming the file`, async () => {
      const dir = damaged(finished, edit);
      const file = new RegExp(`${CHECKPOINT_FILE.replace('.', '\\.')}.*not a valid safetensors file`);
      for (const args of [['train', '--out', dir, '--resume'], ['export', '--run', dir]]) {
        const r = await inProcess(args);
        expectOneLine(r, file);
        expectOneLine(r, message);
      }
    });
  }
});

describe('the training state is checked against its schema', () => {
  const cases: Array<[string, (s: any) => void, RegExp]> = [
    ['epoch -5', (s) => { s.epoch = -5; }, /epoch must be an integer from 0 to 1/],
    ['no fingerprint', (s) => { delete s.fingerprint; }, /fingerprint is not an object/],
    ['a step past the epoch', (s) => { s.epoch = 0; s.step = 7; }, /step must be an integer from 0 to 1/],
    ['an optimizer step count that does not follow', (s) => { s.sgdSteps = 0; }, /sgdSteps must be 2/],
    ['a metrics row that is not an object', (s) => { s.metrics = [null]; }, /metrics\[0\] is not an object/],
    ['labels of the wrong count', (s) => { s.labels = ['a']; }, /labels must be a list of 10 names/],
    ['no settings', (s) => { s.settings = null; }, /settings is not an object/],
    ['a preprocess of another size', (s) => { s.preprocess.imageSize = 64; }, /preprocess\.imageSize must be/],
  ];
  for (const [name, edit, message] of cases) {
    it(`${name}: a one-line error on train --resume and export`, async () => {
      const dir = damaged(finished, (p) => editState(p, edit));
      for (const args of [['train', '--out', dir, '--resume'], ['export', '--run', dir]]) {
        const r = await inProcess(args);
        expectOneLine(r, /checkpoint\.safetensors" has a damaged training state/);
        expectOneLine(r, message);
      }
      expect(fs.readdirSync(dir)).toEqual([CHECKPOINT_FILE]); // nothing trained, nothing exported
    });
  }

  it('the real CLI: epoch -5 and a state without fingerprint exit 2 without a stack trace', async () => {
    for (const edit of [(s: any) => { s.epoch = -5; }, (s: any) => { delete s.fingerprint; }]) {
      const dir = damaged(finished, (p) => editState(p, edit));
      expectOneLine(await runCli(['train', '--out', dir, '--resume']), /has a damaged training state/);
    }
  }, 60_000);
});

describe('the tensors prove their bytes', () => {
  it('records the SHA-256 of the tensor data', () => {
    const { header } = readParts(path.join(finished, CHECKPOINT_FILE));
    expect(header.__metadata__).toMatchObject({ version: '2', tensors_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('a flipped byte in the tensor data: --resume and export exit 2 naming the file (real CLI)', async () => {
    const dir = damaged(finished, (p) => { p.data[p.data.length >> 1] ^= 0x10; });
    for (const args of [['train', '--out', dir, '--resume'], ['export', '--run', dir]]) {
      expectOneLine(await runCli(args), /checkpoint\.safetensors" is damaged: its tensor data does not match the SHA-256 it records/);
    }
    expect(fs.readdirSync(dir)).toEqual([CHECKPOINT_FILE]);
    expect(() => loadCheckpoint(dir)).toThrow(/does not match the SHA-256/);
  }, 60_000);

  it('a version 2 checkpoint without its checksum is refused', async () => {
    const dir = damaged(finished, (p) => { delete p.header.__metadata__.tensors_sha256; });
    expectOneLine(await inProcess(['export', '--run', dir]), /does not match the SHA-256/);
  });

  it('a version 1 checkpoint (before the checksum) exports, with a note that it is unverified', async () => {
    const dir = damaged(finished, (p) => {
      delete p.header.__metadata__.tensors_sha256;
      p.header.__metadata__.version = '1';
    });
    const r = await inProcess(['export', '--run', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^mfnas: note: .*checkpoint\.safetensors" was written before checkpoints recorded a checksum; its weights are read unverified/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ partial: false, epochs_done: 1, epochs: 1 });
  }, 60_000);

  it('a checkpoint that is a FIFO or a folder is a one-line error, not a hang', async () => {
    const fifo = tmp();
    execFileSync('mkfifo', [path.join(fifo, CHECKPOINT_FILE)]);
    expectOneLine(await inProcess(['export', '--run', fifo]), /the checkpoint .* is a FIFO \(named pipe\), not a regular file/);
    const folder = tmp();
    fs.mkdirSync(path.join(folder, CHECKPOINT_FILE));
    expectOneLine(await inProcess(['train', '--out', folder, '--resume']), /is a directory, not a regular file|is a folder/);
  });
});

describe('export of an interrupted run', () => {
  it('is refused without --allow-partial, saying where the run stopped', async () => {
    const r = await inProcess(['export', '--run', interrupted]);
    expectOneLine(r, /holds an interrupted run \(stopped after step 1 of 2 in epoch 1 of 1\); finish it with mfnas train .*--resume, or pass --allow-partial/);
    expect(fs.readdirSync(interrupted).sort()).toEqual([CHECKPOINT_FILE, 'metrics.csv']);
    await expect(loadTrainedNetwork(interrupted)).rejects.toThrow(/interrupted run/);
  });

  it('with --allow-partial exports, says so, and --json records it', async () => {
    const dir = tmp();
    fs.copyFileSync(path.join(interrupted, CHECKPOINT_FILE), path.join(dir, CHECKPOINT_FILE));
    const text = await inProcess(['export', '--run', dir, '--allow-partial']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/^mfnas: note: exported an interrupted run, stopped after step 1 of 2 in epoch 1 of 1\n$/);
    const json = await inProcess(['export', '--run', dir, '--allow-partial', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ partial: true, epochs_done: 0, epochs: 1, step: 1 });
    const net = await loadTrainedNetwork(dir, { allowPartial: true });
    expect(net.labels).toHaveLength(10);
  }, 60_000);

  it('a finished run exports with partial: false', async () => {
    const dir = tmp();
    fs.copyFileSync(path.join(finished, CHECKPOINT_FILE), path.join(dir, CHECKPOINT_FILE));
    const r = await inProcess(['export', '--run', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ partial: false, epochs_done: 1, epochs: 1, step: 0 });
  }, 60_000);
});

describe('refusal messages show the difference, and cut at a word', () => {
  const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
  const B = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|';

  it('--arch on resume: both long cell strings are quoted around where they differ', async () => {
    const dir = damaged(finished, (p) => editState(p, (s) => { s.settings.space = 'tss'; s.settings.arch = A; }));
    const r = await inProcess(['train', '--out', dir, '--resume', '--arch', B]);
    expectOneLine(r, /--arch .*avg_pool_3x3~2.* differs from the run being resumed \(.*nor_conv_3x3~2.*\)/);
    expect(quoteDifference(B, A)[0]).toMatch(/^…".*avg_pool_3x3~2\|" \(from character 81\)$/);
    expect(quoteDifference('8:8', '16:8')).toEqual(['"8:8"', '"16:8"']);
  });

  it('an engine memory failure is quoted to a word boundary', () => {
    const message = 'Aborted(Cannot enlarge memory arrays to size 4294967296 bytes (OOM). Either (1) compile with larger memory)';
    expect(clipAtWord(message, 60)).toBe('Aborted(Cannot enlarge memory arrays to size 4294967296…');
    let thrown: Error | null = null;
    try {
      stepOrExplain(() => { throw new Error(message); }, 256);
    } catch (e) {
      thrown = e as Error;
    }
    expect(thrown?.message).toMatch(/this network \(Aborted\(Cannot enlarge memory arrays to size 4294967296…\); use a smaller --batch, e\.g\. 128/);
  });
});

describe('train: the Ctrl-C message and --skip-bad', () => {
  it('says the step of the epoch and the epoch of the run, each with its own total', () => {
    const base = { out: '/r', checkpoint: '/r/checkpoint.safetensors', stepsPerEpoch: 8, settings: { ...SMALL, epochs: 2 } } as any;
    expect(interruptedMessage({ ...base, epochsDone: 1, step: 4 })).toMatch(/^interrupted after step 4 of 8 in epoch 2 of 2; saved /);
    expect(interruptedMessage({ ...base, epochsDone: 1, step: 0 })).toMatch(/^interrupted after epoch 1 of 2; saved /);
  });

  it('a folder with a file that is not an image: fails naming --skip-bad, trains with it (real CLI)', async () => {
    const root = tmp();
    const images = path.join(root, 'images');
    for (const [cls, shade] of [['dark', 40], ['light', 220]] as const) {
      fs.mkdirSync(path.join(images, 'train', cls), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const png = new PNG({ width: 8, height: 8 });
        png.data.fill(shade + i);
        fs.writeFileSync(path.join(images, 'train', cls, `${i}.png`), PNG.sync.write(png));
      }
    }
    fs.writeFileSync(path.join(images, 'train', 'dark', 'broken.png'), 'not a png');
    const env = { MFNAS_IMAGE_CACHE: path.join(root, 'cache') };
    const args = ['train', '--space', 'sss', '--arch', '8:8:8:8:8', '--dataset', images, '--epochs', '1', '--batch', '8'];
    const without = await runCli([...args, '--out', path.join(root, 'a')], env);
    expectOneLine(without, /broken\.png.*--skip-bad/);
    expect(fs.existsSync(path.join(root, 'a'))).toBe(false);
    const skipping = await runCli([...args, '--out', path.join(root, 'b'), '--skip-bad', '--json'], env);
    expect(skipping.code, skipping.stderr).toBe(0);
    expect(skipping.stderr).toMatch(/^mfnas: skipped 1 bad file \(.*broken\.png/m);
    expect(JSON.parse(skipping.stdout)).toMatchObject({ epochs: 1, settings: { trainImages: 8 } });
    // The resume takes --skip-bad from the run it continues.
    const resumed = await runCli(['train', '--out', path.join(root, 'b'), '--resume'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
  }, 120_000);
});


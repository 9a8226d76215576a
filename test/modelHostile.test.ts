/**
 * Exported models that are not what they claim (issue 21, problem 6): a model.json without
 * weights, weights that do not cover the layers, files that are FIFOs or devices, and labels or
 * image paths that would drive the terminal. The model is the export of a tiny training run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { registerPredictCommand } from '../src/cli/commands/predict.js';
import { initEngine } from '../src/engine/backend.js';
import { predict } from '../src/export/index.js';
import { train } from '../src/train/index.js';
import { DATA, runCli } from './helpers/cli.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';
import { expectOneLineError } from './helpers/oneLine.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-model-'));
let run: string;
let image: string;

interface WeightSpec { name: string; shape: number[]; dtype: string }
interface ModelJson { weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }> | null; [k: string]: unknown }

/** A copy of the exported run whose model.json (and weights.bin) `edit` changes. */
function edited(edit: (json: ModelJson, weights: Buffer) => Buffer | void): string {
  const dir = tmp();
  fs.cpSync(run, dir, { recursive: true });
  const jsonFile = path.join(dir, 'model', 'model.json');
  const binFile = path.join(dir, 'model', 'weights.bin');
  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as ModelJson;
  const weights = edit(json, fs.readFileSync(binFile));
  fs.writeFileSync(jsonFile, JSON.stringify(json));
  if (weights) fs.writeFileSync(binFile, weights);
  return dir;
}

const bytesOf = (w: WeightSpec) => 4 * w.shape.reduce((a, b) => a * b, 1);

const predictCli = (args: string[]) => runCommandsInProcess(registerPredictCommand, ['predict', ...args]);

const expectOneLine = expectOneLineError;

beforeAll(async () => {
  await initEngine();
  run = tmp();
  await train({ space: 'sss', arch: '8:8:8:8:8', dataset: 'cifar10', epochs: 1, batch: 32, limit: 32, testLimit: 16, dataDir: DATA, out: run });
  const png = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
  image = path.join(tmp(), 'image.png');
  fs.writeFileSync(image, PNG.sync.write(png));
}, 120_000);

describe('a model whose weights do not cover its layers', () => {
  it('the export itself predicts (the baseline the cases below break)', async () => {
    const r = await predictCli(['--model', run, '--images', image, '--json']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('weightsManifest null: exit 2 with one line, not 0.100 for every class (real CLI)', async () => {
    const dir = edited((json) => { json.weightsManifest = null; });
    expectOneLine(await runCli(['predict', '--model', dir, '--images', image]), /model\.json" has no weights/);
    await expect(predict({ model: dir, images: [image] })).rejects.toThrow(/has no weights/);
  }, 60_000);

  const cases: Array<[string, (json: ModelJson, weights: Buffer) => Buffer | void, RegExp]> = [
    ['a weight left out (with its bytes)', (json, weights) => {
      const list = json.weightsManifest![0].weights;
      const k = list.findIndex((w) => w.shape.length === 4);
      const at = list.slice(0, k).reduce((s, w) => s + bytesOf(w), 0);
      const [gone] = list.splice(k, 1);
      return Buffer.concat([weights.subarray(0, at), weights.subarray(at + bytesOf(gone))]);
    }, /has no weights for "/],
    ['an extra weight', (json, weights) => {
      json.weightsManifest![0].weights.push({ name: 'extra/kernel', shape: [2], dtype: 'float32' });
      return Buffer.concat([weights, Buffer.alloc(8)]);
    }, /lists the weight "extra\/kernel", which no layer has/],
    ['a weight of another shape (same size)', (json) => {
      const w = json.weightsManifest![0].weights.find((x) => x.shape.length === 4)!;
      w.shape = [w.shape.reduce((a, b) => a * b, 1)];
    }, /gives ".*" the shape \[\d+\] where its layer takes \[\d+, \d+, \d+, \d+\]/],
    ['a truncated weights.bin', (_json, weights) => weights.subarray(0, weights.length - 4), /hold \d[\d,]* bytes where its manifest lists/],
    ['a longer weights.bin', (_json, weights) => Buffer.concat([weights, Buffer.alloc(4)]), /hold \d[\d,]* bytes where its manifest lists/],
    ['a weight listed twice', (json) => {
      const list = json.weightsManifest![0].weights;
      list.push(list[0]);
    }, /lists the weight ".*" twice/],
    ['float16 weights', (json) => { json.weightsManifest![0].weights[0].dtype = 'float16'; }, /not a named float32 tensor/],
    ['an empty manifest', (json) => { json.weightsManifest = []; }, /has no weights/],
  ];
  for (const [name, edit, message] of cases) {
    it(`${name}: exit 2 with one line`, async () => {
      expectOneLine(await predictCli(['--model', edited(edit), '--images', image]), message);
    });
  }
});

describe('only regular files are read', () => {
  it('a FIFO as model.json, labels.json or weights.bin is a one-line error, not a hang', async () => {
    for (const [rel, what] of [['model/model.json', 'model\\.json'], ['labels.json', 'labels\\.json'], ['model/weights.bin', 'weights']] as const) {
      const dir = edited(() => undefined);
      fs.rmSync(path.join(dir, rel));
      execFileSync('mkfifo', [path.join(dir, rel)]);
      expectOneLine(await predictCli(['--model', dir, '--images', image]), new RegExp(`${what}.* is a FIFO \\(named pipe\\), not a regular file`));
    }
  });

  it('weights.bin linked to /dev/zero is a one-line error', async () => {
    const dir = edited(() => undefined);
    fs.rmSync(path.join(dir, 'model', 'weights.bin'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'model', 'weights.bin'));
    expectOneLine(await predictCli(['--model', dir, '--images', image]), /weights .* is a character device, not a regular file/);
  });
});

describe('labels and paths are escaped on the terminal', () => {
  it('a label with ESC or a newline prints escaped; --json keeps the exact text', async () => {
    const dir = edited(() => undefined);
    const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8')) as string[];
    labels[0] = '\u001b[31mred';
    labels[1] = 'two\nlines';
    fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(labels));
    const odd = path.join(path.dirname(image), 'odd\u001b]0;title\u0007\nname.png');
    fs.copyFileSync(image, odd);

    const text = await predictCli(['--model', dir, '--images', odd, '--top', '10']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/); // eslint-disable-line no-control-regex
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe(odd.replace('\u001b', '\\u001b').replace('\u0007', '\\u0007').replace('\n', '\\u000a'));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\\u001b\[31mred +\d\.\d{3}$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}two\\u000alines +\d\.\d{3}$/));
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1); // still one column

    const json = await predictCli(['--model', dir, '--images', odd, '--top', '10', '--json']);
    const [p] = JSON.parse(json.stdout) as Array<{ file: string; top: Array<{ label: string }> }>;
    expect(p.file).toBe(odd);
    expect(p.top.map((t) => t.label)).toEqual(expect.arrayContaining(['\u001b[31mred', 'two\nlines']));
  });
});

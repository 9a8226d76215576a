/**
 * The README's "your own images" path end to end through the real command line: an image folder
 * written as PNG files from CIFAR-10 records, a tiny search on it, training the answer (killed
 * with SIGKILL after its first epoch and resumed, then compared byte for byte with an
 * uninterrupted run), the exported model, and predictions from it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA, runCli, startCli } from './helpers/cli.js';

const CLASSES: Record<number, string> = { 0: 'airplane', 3: 'cat', 8: 'ship' };
const PER_CLASS = { train: 100, test: 30 };

let dir: string;
let env: Record<string, string>;

function writeFolder(root: string): void {
  const splits: Array<[string, 'train' | 'test']> = [['data_batch_1.bin', 'train'], ['test_batch.bin', 'test']];
  for (const [file, split] of splits) {
    const bytes = readFileSync(path.join(DATA, 'cifar-10-batches-bin', file));
    const count: Record<number, number> = {};
    for (let i = 0; i < bytes.length / 3073; i++) {
      const label = bytes[i * 3073];
      if (!(label in CLASSES) || (count[label] = (count[label] ?? 0) + 1) > PER_CLASS[split]) continue;
      const png = new PNG({ width: 32, height: 32 });
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) png.data[p * 4 + c] = bytes[i * 3073 + 1 + c * 1024 + p];
        png.data[p * 4 + 3] = 255;
      }
      const classDir = path.join(root, split, CLASSES[label]);
      mkdirSync(classDir, { recursive: true });
      writeFileSync(path.join(classDir, `${i}.png`), PNG.sync.write(png));
    }
  }
}

function csvRows(file: string): Array<Record<string, number>> {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const keys = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i], Number(v)])));
}

/** The tensor bytes of a safetensors file (after its 8-byte header length and JSON header). */
function safetensorsData(file: string): Buffer {
  const bytes = readFileSync(file);
  return bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mfnas-e2e-'));
  writeFolder(path.join(dir, 'images'));
  env = { MFNAS_CACHE: path.join(dir, 'scores.sqlite'), MFNAS_IMAGE_CACHE: path.join(dir, 'image-cache') };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('own images: search → train → export → predict', () => {
  let arch = '';
  const trainArgs = (out: string) => ['train', '--space', 'tss', '--arch', arch, '--dataset', path.join(dir, 'images'),
    '--epochs', '2', '--batch', '30', '--out', out];

  it('searches the folder', async () => {
    const r = await runCli(['search', '--space', 'tss', '--dataset', path.join(dir, 'images'), '--population', '4',
      '--tournament', '2', '--steps', '2', '--batch', '16', '--json'], env);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('mfnas:'))).toEqual([]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    arch = result.runs[0].best.arch;
    expect(arch).toMatch(/^\|.*\|$/);
    expect(result.runs[0].best.accuracy).toBeNull();
  }, 180_000);

  it('trains the answer (loss falls, test accuracy beats chance), exports it, and a killed run resumes to the same weights', async () => {
    const straight = path.join(dir, 'straight');
    const r = await runCli([...trainArgs(straight), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const rows = csvRows(path.join(straight, 'metrics.csv'));
    expect(rows.map((m) => m.epoch)).toEqual([1, 2]);
    expect(rows[1].train_loss).toBeLessThan(rows[0].train_loss);
    expect(rows[1].test_acc).toBeGreaterThan(100 / 3 + 5);
    for (const f of ['model/model.json', 'model/weights.bin', 'model.onnx', 'labels.json', 'preprocess.json']) {
      expect(existsSync(path.join(straight, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(path.join(straight, 'labels.json'), 'utf8'))).toEqual(['airplane', 'cat', 'ship']);

    // Kill (no chance to save) once the first epoch's checkpoint is on disk, then resume.
    const killed = path.join(dir, 'killed');
    const child = startCli(trainArgs(killed), env);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(path.join(killed, 'metrics.csv'))) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 50);
      child.once('close', () => { clearInterval(timer); reject(new Error('training ended before it could be killed')); });
    });
    await new Promise((resolve) => child.once('close', resolve));
    const resumed = await runCli(['train', '--out', killed, '--resume', '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    // The checkpoint's metadata holds timings; its tensors (weights, running statistics, momentum)
    // and the exported weights must be the same bytes.
    expect(safetensorsData(path.join(killed, 'checkpoint.safetensors')).equals(safetensorsData(path.join(straight, 'checkpoint.safetensors')))).toBe(true);
    expect(readFileSync(path.join(killed, 'model/weights.bin')).equals(readFileSync(path.join(straight, 'model/weights.bin')))).toBe(true);
  }, 600_000);

  it('predicts with the exported model', async () => {
    const images = ['cat', 'ship'].map((c) => {
      const classDir = path.join(dir, 'images', 'test', c);
      return path.join(classDir, readdirSync(classDir).sort()[0]);
    });
    const r = await runCli(['predict', '--model', path.join(dir, 'straight'), '--images', ...images, '--top', '3', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Array<{ file: string; top: Array<{ label: string; probability: number }> }>;
    expect(out.map((p) => path.basename(p.file))).toEqual(images.map((f) => path.basename(f)));
    for (const p of out) {
      expect(p.top.map((t) => t.label).sort()).toEqual(['airplane', 'cat', 'ship']);
      expect(p.top.reduce((s, t) => s + t.probability, 0)).toBeCloseTo(1, 5);
    }
  }, 120_000);
});

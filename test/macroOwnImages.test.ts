/**
 * `--space macro` on an image folder (issue 23): the network is fully convolutional with the
 * authors' strides, so it scores and searches at 32, 64 and 96 pixels (FLOPs grow with the
 * pixel count, parameters do not), and it trains on the folder with NAS-Bench-Macro's recipe
 * (plain momentum, the cosine one epoch ahead), exports its depthwise layers and predicts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA, runCli } from './helpers/cli.js';

const CLASSES: Record<number, string> = { 1: 'automobile', 6: 'frog' };
const PER_CLASS = { train: 40, test: 12 };

let dir: string;
let images: string;
let env: Record<string, string>;

/** CIFAR-10 records of two classes as PNG files of `size` pixels (nearest-neighbour upscaled). */
function writeFolder(root: string, size: number): void {
  const splits: Array<[string, 'train' | 'test']> = [['data_batch_1.bin', 'train'], ['test_batch.bin', 'test']];
  const r = size / 32;
  for (const [file, split] of splits) {
    const bytes = readFileSync(path.join(DATA, 'cifar-10-batches-bin', file));
    const count: Record<number, number> = {};
    for (let i = 0; i < bytes.length / 3073; i++) {
      const label = bytes[i * 3073]!;
      if (!(label in CLASSES) || (count[label] = (count[label] ?? 0) + 1) > PER_CLASS[split]) continue;
      const png = new PNG({ width: size, height: size });
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const p = Math.floor(y / r) * 32 + Math.floor(x / r);
          for (let c = 0; c < 3; c++) png.data[(y * size + x) * 4 + c] = bytes[i * 3073 + 1 + c * 1024 + p]!;
          png.data[(y * size + x) * 4 + 3] = 255;
        }
      }
      const classDir = path.join(root, split, CLASSES[label]!);
      mkdirSync(classDir, { recursive: true });
      writeFileSync(path.join(classDir, `${i}.png`), PNG.sync.write(png));
    }
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mfnas-macro-folder-'));
  images = path.join(dir, 'images');
  writeFolder(images, 96);
  env = { MFNAS_CACHE: path.join(dir, 'scores.sqlite'), MFNAS_IMAGE_CACHE: path.join(dir, 'image-cache') };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('macro on an image folder', { timeout: 240_000 }, () => {
  it('scores 22212220 at 32, 64 and 96 pixels: finite proxies, FLOPs grow with the pixels, parameters do not', async () => {
    // AZ-NAS only at 32: its fixed batch of 64 noise images keeps every feature map, which at
    // 64 pixels no longer fits the wasm engine's 4 GB heap (a one-line refusal, exit 2).
    const results = await Promise.all([32, 64, 96].map(async (size) => {
      const proxies = `intgrad_param,synflow,naswot,flops,params${size === 32 ? ',az_trainability' : ''}`;
      const r = await runCli(['score', '--space', 'macro', '--arch', '22212220', '--dataset', images, '--image-size', String(size),
        '--proxies', proxies, '--batch', '8', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).scores as Record<string, number>;
    }));
    for (const s of results) for (const [name, v] of Object.entries(s)) expect(Number.isFinite(v), `${name} = ${v}`).toBe(true);
    const [s32, s64, s96] = results as [Record<string, number>, Record<string, number>, Record<string, number>];
    // Two classes: the classifier is 1280·2 + 2 parameters, the same at every size.
    expect(s64.params).toBe(s32.params);
    expect(s96.params).toBe(s32.params);
    // Every convolution's output grows with the pixel count; only the linear layer's MACs do not.
    const linear = (1280 * 2 + 2) / 1e6;
    expect((s64.flops! - linear) / (s32.flops! - linear)).toBeCloseTo(4, 6);
    expect((s96.flops! - linear) / (s32.flops! - linear)).toBeCloseTo(9, 6);
  });

  it('searches the folder at 64 pixels and answers an 8-digit architecture', async () => {
    const r = await runCli(['search', '--space', 'macro', '--dataset', images, '--image-size', '64', '--population', '4',
      '--tournament', '2', '--steps', '2', '--batch', '8', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const best = JSON.parse(r.stdout).runs[0].best;
    expect(best.arch).toMatch(/^[012]{8}$/);
    expect(best.accuracy).toBeNull();
  });

  it("trains with NAS-Bench-Macro's recipe by default, exports DepthwiseConv2D layers and predicts", async () => {
    const out = path.join(dir, 'run');
    // A gentler rate than the recipe's 0.1: 80 images in batches of 16 are few for batch norm.
    const r = await runCli(['train', '--space', 'macro', '--arch', '11111111', '--dataset', images, '--epochs', '4', '--batch', '16',
      '--lr', '0.02', '--out', out, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.settings.recipe).toBe('nas-bench-macro');
    // The authors' loop steps the cosine before each epoch: lr·(1 + cos(π·(e+1)/4))/2, the last epoch at 0.
    expect(result.metrics.map((m: { lr: number }) => m.lr)).toEqual([1, 2, 3, 4].map((e) => 0.01 * (1 + Math.cos((Math.PI * e) / 4))));
    expect(result.metrics.at(-1).train_loss).toBeLessThan(result.metrics[0].train_loss);
    const model = JSON.parse(readFileSync(path.join(out, 'model', 'model.json'), 'utf8'));
    const layers: Array<{ class_name: string; name?: string; config: { name: string } }> = model.modelTopology.model_config?.config.layers ?? model.modelTopology.config.layers;
    // One per inverted residual (the input normalisation is a 1×1 DepthwiseConv2D of its own).
    const depthwise = layers.filter((l) => l.class_name === 'DepthwiseConv2D' && (l.name ?? l.config.name) !== 'normalize');
    expect(depthwise).toHaveLength(8);
    const file = path.join(images, 'test', 'frog', readdirSync(path.join(images, 'test', 'frog'))[0]!);
    const p = await runCli(['predict', '--model', out, '--images', file, '--json'], env);
    expect(p.code, p.stderr).toBe(0);
    const top = JSON.parse(p.stdout)[0].top;
    expect(top.map((t: { label: string }) => t.label).sort()).toEqual(['automobile', 'frog']);
  });
});

/**
 * Export to TensorFlow.js LayersModel and ONNX, checked against mfnas's own evaluation-mode
 * network on real images: the LayersModel loaded back from its files (in this process, and in
 * a child Node process with stock @tensorflow/tfjs on its cpu backend), the ONNX model in
 * onnxruntime-node. Then prediction through the API and the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { initEngine } from '../src/engine/backend.js';
import type { DatasetName } from '../src/datasets/registry.js';
import type { NetworkSpec } from '../src/networks/index.js';
import { parseTssCell, tssNetworkSpec } from '../src/spaces/tss/index.js';
import { parseSssChannels, sssNetworkSpec } from '../src/spaces/sss/index.js';
import { exportGraph, exportModel, predict } from '../src/export/index.js';
import { loadTrainedNetwork, train } from '../src/train/index.js';
import { DATA, runCli } from './helpers/cli.js';
import {
  CIFAR10_LABELS, layersLogits, maxAbsDiff, mfnasLogits, onnxLogits, pixels01, realImages, stockTfjsLogits, trainedLike,
} from './helpers/exportHarness.js';

const ALL_OPS = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|';
/** Node 1 is constant zero (its only edge is none); node 1's out-edges are dead but not inert once β ≠ 0. */
const ZERO_NODE = '|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|';
const TOLERANCE = 1e-4;


let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-export-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CASES: Array<{ name: string; dataset: DatasetName; spec: () => NetworkSpec; n: number; stock?: boolean }> = [
  { name: 'TSS with every op', dataset: 'cifar10', spec: () => tssNetworkSpec(parseTssCell(ALL_OPS), 'cifar10', ALL_OPS), n: 8, stock: true },
  { name: 'SSS 8:16:24:32:40', dataset: 'cifar10', spec: () => sssNetworkSpec(parseSssChannels('8:16:24:32:40'), 'cifar10'), n: 8 },
  { name: 'TSS with a zero node at 16×16', dataset: 'ImageNet16-120', spec: () => tssNetworkSpec(parseTssCell(ZERO_NODE), 'ImageNet16-120', ZERO_NODE), n: 8 },
];

describe('exported models compute mfnas\'s evaluation-mode network', () => {
  for (const c of CASES) {
    it(`${c.name}: LayersModel and ONNX logits within ${TOLERANCE}`, async () => {
      const trained = trainedLike(c.spec(), 7);
      const img = realImages(c.dataset, c.n);
      const runDir = path.join(tmp, c.name.replace(/\W+/g, '-'));
      const result = await exportModel(trained, runDir);
      expect([...result.files].sort()).toEqual(['labels.json', 'model.onnx', 'model/model.json', 'model/weights.bin', 'preprocess.json']);
      expect(JSON.parse(fs.readFileSync(path.join(runDir, 'labels.json'), 'utf8'))).toEqual(trained.labels);
      expect(JSON.parse(fs.readFileSync(path.join(runDir, 'preprocess.json'), 'utf8'))).toEqual(trained.preprocess);
      if (c.stock) {
        // Same network, same bytes: an export is reproducible (no dates, no random initial weights left).
        const again = await exportModel(trained, `${runDir}-again`);
        for (const f of again.files) expect(fs.readFileSync(path.join(`${runDir}-again`, f)).equals(fs.readFileSync(path.join(runDir, f)))).toBe(true);
      }

      const x = pixels01(img);
      const ref = mfnasLogits(trained, img);
      // The network must actually depend on the image, or equal logits would prove nothing.
      expect(maxAbsDiff(ref.subarray(0, trained.spec.classes), ref.subarray(trained.spec.classes, 2 * trained.spec.classes))).toBeGreaterThan(1e-2);
      const dLayers = maxAbsDiff(await layersLogits(runDir, x, img), ref);
      const dOnnx = maxAbsDiff(await onnxLogits(runDir, x, img), ref);
      const dStock = c.stock ? maxAbsDiff(await stockTfjsLogits(runDir, x, img), ref) : 0;
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(`${c.name}: max |logit| ${scale.toFixed(3)}, max |Δ| LayersModel ${dLayers.toExponential(2)}, ONNX ${dOnnx.toExponential(2)}${c.stock ? `, stock tfjs cpu ${dStock.toExponential(2)}` : ''}`);
      expect(dLayers).toBeLessThanOrEqual(TOLERANCE);
      expect(dOnnx).toBeLessThanOrEqual(TOLERANCE);
      expect(dStock).toBeLessThanOrEqual(TOLERANCE);
    }, 60_000);
  }

  it('keeps dead edges but leaves out op none', () => {
    const graph = exportGraph(trainedLike(tssNetworkSpec(parseTssCell(ZERO_NODE), 'cifar10', ZERO_NODE), 1));
    const names = graph.nodes.map((n) => n.name);
    // Edge 1 (node 1 → node 2, nor_conv_3x3) is dead in the spec yet still exported.
    expect(names).toContain('cells.0.edge1.conv');
    expect(names).toContain('cells.0.zeros');
    expect(names.some((n) => n.startsWith('cells.0.edge0'))).toBe(false);
  });

  it('refuses a network whose parameters do not fit its spec', async () => {
    const trained = trainedLike(sssNetworkSpec(parseSssChannels('8:8:8:8:8'), 'cifar10'), 0);
    const params = new Map(trained.params);
    params.delete('lastact.bn.running_var');
    await expect(exportModel({ ...trained, params }, path.join(tmp, 'bad'))).rejects.toThrow(/no parameter lastact\.bn\.running_var/);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  });
});

describe('mfnas export --run', () => {
  it('exports a training checkpoint; the files compute its evaluation-mode network', async () => {
    const run = path.join(tmp, 'trained run');
    await train({ out: run, space: 'sss', arch: '8:16:8:16:8', epochs: 1, batch: 16, limit: 32, testLimit: 16, dataDir: DATA });
    const out = await runCli(['export', '--run', run, '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const files = (JSON.parse(out.stdout) as { files: string[] }).files;
    expect(files.map((f) => path.relative(run, f)).sort()).toEqual(['labels.json', 'model.onnx', 'model/model.json', 'model/weights.bin', 'preprocess.json']);
    const trained = await loadTrainedNetwork(run);
    const img = realImages('cifar10', 4);
    const x = pixels01(img);
    const ref = mfnasLogits(trained, img);
    const dLayers = maxAbsDiff(await layersLogits(run, x, img), ref);
    const dOnnx = maxAbsDiff(await onnxLogits(run, x, img), ref);
    console.log(`trained checkpoint: max |Δ| LayersModel ${dLayers.toExponential(2)}, ONNX ${dOnnx.toExponential(2)}`);
    expect(dLayers).toBeLessThanOrEqual(TOLERANCE);
    expect(dOnnx).toBeLessThanOrEqual(TOLERANCE);

    const text = await runCli(['export', '--run', run]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`wrote ${path.join(run, 'model.onnx')}\n`);
  }, 60_000);

  it('a folder without a run exits 2 with one line', async () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const r = await runCli(['export', '--run', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mfnas: .*holds no training run/);
    expect(fs.readdirSync(empty)).toEqual([]);
  }, 30_000);
});

describe('predict', () => {
  let runDir: string;
  let files: string[];
  let expectedTop1: string[];
  beforeAll(async () => {
    const trained = trainedLike(tssNetworkSpec(parseTssCell(ALL_OPS), 'cifar10', ALL_OPS), 3);
    runDir = path.join(tmp, 'predict-run');
    await exportModel(trained, runDir);
    const img = realImages('cifar10', 2);
    files = [0, 1].map((i) => {
      const png = new PNG({ width: 32, height: 32 });
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) png.data[4 * p + c] = img.planes[(i * 3 + c) * 1024 + p];
        png.data[4 * p + 3] = 255;
      }
      const file = path.join(tmp, `image ${i}.png`);
      fs.writeFileSync(file, PNG.sync.write(png));
      return file;
    });
    const ref = mfnasLogits(trained, img);
    expectedTop1 = [0, 1].map((i) => {
      const row = Array.from(ref.subarray(i * 10, (i + 1) * 10));
      return CIFAR10_LABELS[row.indexOf(Math.max(...row))];
    });
  });

  it('API: probabilities of all classes sum to 1, top-1 is the argmax of mfnas\'s logits', async () => {
    const out = await predict({ model: runDir, images: files, top: 10 });
    expect(out.map((p) => p.file)).toEqual(files);
    for (const [i, p] of out.entries()) {
      expect(p.top).toHaveLength(10);
      expect(p.top.reduce((s, t) => s + t.probability, 0)).toBeCloseTo(1, 6);
      for (let k = 1; k < 10; k++) expect(p.top[k].probability).toBeLessThanOrEqual(p.top[k - 1].probability);
      expect(p.top[0].label).toBe(expectedTop1[i]);
    }
    const three = await predict({ model: runDir, images: files.slice(0, 1), top: 3 });
    expect(three[0].top).toEqual(out[0].top.slice(0, 3));
  });

  it('CLI: --json and the aligned text form', async () => {
    const json = await runCli(['predict', '--model', runDir, '--images', ...files, '--top', '2', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Array<{ file: string; top: Array<{ label: string; probability: number }> }>;
    expect(parsed.map((p) => p.top[0].label)).toEqual(expectedTop1);
    expect(parsed[0].top).toHaveLength(2);

    const text = await runCli(['predict', '--model', runDir, '--images', files[0], '--top', '3']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(files[0]);
    expect(lines).toHaveLength(4);
    const probs = lines.slice(1).map((l) => l.match(/^ {2}(\S+) +(\d\.\d{3})$/));
    expect(probs.every((m) => m !== null)).toBe(true);
    expect(probs[0]![1]).toBe(expectedTop1[0]);
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1); // one column for the probabilities
  }, 60_000);

  it('bad input exits 2 with one line', async () => {
    const missing = await runCli(['predict', '--model', path.join(tmp, 'nowhere'), '--images', files[0]]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^mfnas: .*labels\.json.* does not exist; give the run folder/);
    const notImage = path.join(tmp, 'not-an-image.png');
    fs.writeFileSync(notImage, 'hello');
    const bad = await runCli(['predict', '--model', runDir, '--images', notImage]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mfnas: cannot decode the image .*not-an-image\.png/);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    await expect(predict({ model: runDir, images: files, top: 0 })).rejects.toThrow(/top must be an integer >= 1/);
  }, 60_000);
});

/**
 * Export of depthwise and grouped convolutions (issue 23, item 7): a block kind defined here —
 * a 1×1 expansion, a depthwise 3×3 stride 2 and a depthwise 5×5 stride 1, each with BN and ReLU —
 * assembled into a network with trained-looking parameters (random γ, nonzero β, BN running
 * statistics randomly perturbed from real batch statistics). Its LayersModel (DepthwiseConv2D; loaded by mfnas's own file handler and by stock
 * @tensorflow/tfjs on its cpu backend) and its ONNX model (Conv with `group`, onnxruntime-node)
 * must give mfnas's evaluation-mode logits on real CIFAR-10 images within 1e-4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initEngine } from '../src/engine/backend.js';
import {
  assembleNetwork, bnSpec, convBnSpec, convOutSize, convSpec, depthwiseConvSpec, registerBlockKind,
  networkLayers, type BlockKind, type BnSpec, type ConvSpec, type NetworkSpec, type TrainedNetwork,
} from '../src/networks/index.js';
import { forward, toTensorParams } from '../src/networks/model.js';
import { datasetInfo } from '../src/datasets/registry.js';
import { normaliseImages } from '../src/datasets/transforms.js';
import { exportGraph, exportModel, loadExportedModel, onnxModelBytes } from '../src/export/index.js';
import { buildLayersModel } from '../src/export/layersModel.js';
import { onnxModelType } from '../src/export/onnx.js';
import { InputError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { macroNetworkSpec, parseMacroArch } from '../src/spaces/macro/index.js';
import {
  layersLogits, maxAbsDiff, mfnasLogits, onnxLogits, pixels01, realImages, stockTfjsLogits, trainedLike,
} from './helpers/exportHarness.js';

const TOLERANCE = 1e-4;

/** Convolutions in a row, each followed by BN and ReLU. */
interface ChainSpec {
  readonly kind: 'test_conv_chain';
  readonly name: string;
  readonly convs: readonly ConvSpec[];
  readonly bns: readonly BnSpec[];
}

type ConvMaker = (name: string, cin: number, size: number) => ConvSpec;

function chain(name: string, cin: number, size: number, makers: readonly ConvMaker[]): ChainSpec {
  const convs: ConvSpec[] = [];
  const bns: BnSpec[] = [];
  makers.forEach((make, i) => {
    const conv = make(`${name}.conv${i}`, cin, size);
    size = convOutSize(conv);
    cin = conv.cout;
    convs.push(conv);
    bns.push(bnSpec(`${name}.bn${i}`, conv.cout, size));
  });
  return { kind: 'test_conv_chain', name, convs, bns };
}

const chainKind: BlockKind<ChainSpec> = {
  name: 'test_conv_chain',
  layers: (b) => b.convs.flatMap((c, i) => [c, b.bns[i]]),
  forward(b, x, layers) {
    return b.convs.reduce((h, c, i) => layers.relu(layers.bn(b.bns[i], layers.conv(c, h))), x);
  },
  graph(b, input, g) {
    return b.convs.reduce((h, c, i) => g.relu(`${b.name}.relu${i}`, g.bn(b.bns[i], g.conv(c, h))), input);
  },
  output: (b) => ({ size: b.bns[b.bns.length - 1].size, channels: b.bns[b.bns.length - 1].c }),
};
registerBlockKind(chainKind);

const expand = (cout: number): ConvMaker => (name, cin, size) => convSpec(name, cin, cout, 1, 1, size);
const depthwise = (k: number, stride: number): ConvMaker => (name, c, size) => depthwiseConvSpec(name, c, k, stride, size);
/** groups = cin with `multiplier` filters per input channel (PyTorch Conv2d(C, m·C, groups=C)). */
const multiplied = (k: number, stride: number, multiplier: number): ConvMaker => (name, c, size) =>
  ({ ...convSpec(name, c, multiplier * c, k, stride, size), groups: c });
const grouped = (k: number, cout: number, groups: number): ConvMaker => (name, cin, size) =>
  ({ ...convSpec(name, cin, cout, k, 1, size), groups });

/** stem 3→8 at 32² (conv, BN, ReLU), the chain, head 1×1 conv to 32, BN, ReLU. */
function network(arch: string, makers: readonly ConvMaker[]): NetworkSpec {
  const block = chain('cells.0', 8, 32, makers);
  const out = chainKind.output(block);
  return assembleNetwork('test', 'cifar10', arch, convBnSpec('stem', 3, 8, 3, 1, 32, true), [block],
    convBnSpec('head', out.channels, 32, 1, 1, out.size, true));
}

/** The brief's block: 1×1 expand 8→24, depthwise 3×3 stride 2, depthwise 5×5 stride 1. */
const MOBILE = () => network('expand-dw3s2-dw5s1', [expand(24), depthwise(3, 2), depthwise(5, 1)]);
/** Depth multiplier 2 (24→48, groups 24, 3×3), a depthwise 5×5 stride 2, a depthwise 3×3 stride 1. */
const MULTIPLIER = () => network('dw-multiplier', [expand(24), multiplied(3, 1, 2), depthwise(5, 2), depthwise(3, 1)]);
/** 1 < groups < channels: ONNX only. */
const GROUPED = () => network('grouped', [expand(24), grouped(3, 24, 4), depthwise(3, 2)]);

/**
 * Trained-looking parameters whose BN running statistics are near what the network sees: with
 * init-scale weights and running statistics drawn independently of the activations (as
 * `trainedLike` draws them), every BN's input is tiny next to its running mean, so the logits
 * hardly depend on the image. Here each running mean / variance is the batch statistic of 64 real
 * test images (not the ones compared) in training mode, randomly perturbed; γ and β stay
 * `trainedLike`'s random draws (β ≠ 0).
 */
function calibrated(spec: NetworkSpec, seed: number): TrainedNetwork {
  const trained = trainedLike(spec, seed);
  const rng = new Rng(seed).derive('calibrate');
  const img = realImages('cifar10', 72);
  const x = normaliseImages(img.planes.subarray(8 * 3 * 32 * 32), 64, 32, datasetInfo('cifar10'));
  const p = toTensorParams(trained.params);
  const stats = new Map<string, { mean: Float32Array; variance: Float32Array }>();
  tf.tidy(() => {
    forward(spec, p, tf.tensor4d(x, [64, 32, 32, 3]), { batchNorm: 'train', onBatchStats: (bn, mean, variance) => stats.set(bn.name, { mean, variance }) });
  });
  tf.dispose([...p.values()]);
  const params = new Map(trained.params);
  for (const [name, { mean, variance }] of stats) {
    params.set(`${name}.running_mean`, { shape: [mean.length], data: mean.map((m, i) => m + rng.uniform(-0.2, 0.2) * Math.sqrt(variance[i])) });
    params.set(`${name}.running_var`, { shape: [variance.length], data: variance.map((v) => v * rng.uniform(0.7, 1.4)) });
  }
  expect(stats.size).toBe(networkLayers(spec).filter((l) => l.kind === 'bn').length);
  return { ...trained, params };
}

/** The LayersModel as `mfnas predict` loads it (loadExportedModel: manifest and weight checks). */
async function predictLoaderLogits(runDir: string, x: Float32Array, n: number): Promise<Float32Array> {
  const { model } = await loadExportedModel(runDir);
  try {
    return tf.tidy(() => (model.predict(tf.tensor4d(x, [n, 32, 32, 3])) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-export-dw-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface OnnxAttr { name: string; i?: number | { toNumber(): number }; ints?: Array<number | { toNumber(): number }> }
const num = (v: number | { toNumber(): number } | undefined) => (typeof v === 'object' ? v.toNumber() : v);

/** Each ONNX Conv's group and weight dims, by node name. */
function onnxConvs(bytes: Uint8Array): Map<string, { group: number | undefined; dims: number[] }> {
  const model = onnxModelType().toObject(onnxModelType().decode(bytes), { longs: Number }) as {
    graph: { node: Array<{ name: string; op_type: string; input: string[]; attribute: OnnxAttr[] }>; initializer: Array<{ name: string; dims: number[] }> };
  };
  const dims = new Map(model.graph.initializer.map((t) => [t.name, t.dims.map((d) => num(d)!)]));
  const out = new Map<string, { group: number | undefined; dims: number[] }>();
  for (const n of model.graph.node) {
    if (n.op_type !== 'Conv') continue;
    out.set(n.name, { group: num(n.attribute.find((a) => a.name === 'group')?.i), dims: dims.get(n.input[1])! });
  }
  return out;
}

/** class_name of every layer of a saved model.json, by layer name. */
function layerClasses(runDir: string): Map<string, string> {
  const json = JSON.parse(fs.readFileSync(path.join(runDir, 'model', 'model.json'), 'utf8')) as {
    modelTopology: { config: { layers: Array<{ class_name: string; config: { name: string } }> } };
  };
  return new Map(json.modelTopology.config.layers.map((l) => [l.config.name, l.class_name]));
}

/**
 * The exported run in `runDir` gives mfnas's evaluation-mode logits on `img`: through both of
 * mfnas's loaders, onnxruntime and (with `stock`) stock tfjs on the cpu backend, within TOLERANCE;
 * and the images are told apart (a network whose logits ignore the image would agree trivially).
 */
async function expectExportAgrees(label: string, trained: TrainedNetwork, img: ReturnType<typeof realImages>, runDir: string, stock: boolean): Promise<void> {
  const x = pixels01(img);
  const ref = mfnasLogits(trained, img);
  const spread = maxAbsDiff(ref.subarray(0, 10), ref.subarray(10, 20));
  expect(spread).toBeGreaterThan(1e-2);
  const dLayers = Math.max(maxAbsDiff(await layersLogits(runDir, x, img), ref), maxAbsDiff(await predictLoaderLogits(runDir, x, img.n), ref));
  const dOnnx = maxAbsDiff(await onnxLogits(runDir, x, img), ref);
  const dStock = stock ? maxAbsDiff(await stockTfjsLogits(runDir, x, img), ref) : 0;
  const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  console.log(`${label}: max |logit| ${scale.toFixed(3)}, images 0 and 1 differ by ${spread.toFixed(6)}, max |Δ| LayersModel ${dLayers.toExponential(2)}, ONNX ${dOnnx.toExponential(2)}${stock ? `, stock tfjs cpu ${dStock.toExponential(2)}` : ''}`);
  expect(dLayers).toBeLessThanOrEqual(TOLERANCE);
  expect(dOnnx).toBeLessThanOrEqual(TOLERANCE);
  expect(dStock).toBeLessThanOrEqual(TOLERANCE);
}

describe('depthwise convolutions export to DepthwiseConv2D and ONNX Conv with group', () => {
  const cases = [
    { name: 'expand, dw 3×3 s2, dw 5×5 s1', spec: MOBILE, stock: true },
    { name: 'depth multiplier 2, dw 5×5 s2', spec: MULTIPLIER, stock: false },
  ];
  for (const c of cases) {
    it(`${c.name}: LayersModel (own loaders${c.stock ? ', stock tfjs cpu' : ''}) and ONNX logits within ${TOLERANCE}`, async () => {
      const trained = calibrated(c.spec(), 11);
      const img = realImages('cifar10', 8);
      const runDir = path.join(tmp, c.spec().arch);
      await exportModel(trained, runDir);

      const block = trained.spec.blocks[0] as ChainSpec;
      const classes = layerClasses(runDir);
      for (const conv of block.convs) {
        const dw = (conv.groups ?? 1) > 1;
        expect(classes.get(conv.name)).toBe(dw ? 'DepthwiseConv2D' : 'Conv2D');
        // PyTorch's symmetric padding: 'same' only at stride 1, otherwise explicit zeros first.
        expect(classes.has(`${conv.name}.pad`)).toBe(conv.stride !== 1);
      }
      const convs = onnxConvs(fs.readFileSync(path.join(runDir, 'model.onnx')));
      for (const conv of block.convs) {
        const g = conv.groups ?? 1;
        expect(convs.get(conv.name)).toEqual({ group: g, dims: [conv.cout, conv.cin / g, conv.k, conv.k] });
      }

      await expectExportAgrees(c.name, trained, img, runDir, c.stock);
    }, 60_000);
  }

  it('the same network exports to the same bytes', async () => {
    const trained = trainedLike(MOBILE(), 4);
    const a = await exportModel(trained, path.join(tmp, 'again-a'));
    await exportModel(trained, path.join(tmp, 'again-b'));
    for (const f of a.files) expect(fs.readFileSync(path.join(tmp, 'again-b', f)).equals(fs.readFileSync(path.join(tmp, 'again-a', f)))).toBe(true);
  }, 60_000);

  it('1 < groups < channels: ONNX computes it; the LayersModel refuses it in one line and nothing is written', async () => {
    const trained = calibrated(GROUPED(), 5);
    const graph = exportGraph(trained);
    const node = graph.nodes.find((n) => n.name === 'cells.0.conv1');
    expect(node).toMatchObject({ op: 'conv', groups: 4, cin: 24, cout: 24 });
    expect(() => buildLayersModel(graph)).toThrow(InputError);
    expect(() => buildLayersModel(graph)).toThrow(/cells\.0\.conv1 has 4 groups of 6 channels: a TensorFlow\.js LayersModel holds no grouped convolution but a depthwise one/);
    await expect(exportModel(trained, path.join(tmp, 'grouped'))).rejects.toThrow(InputError);
    expect(fs.existsSync(path.join(tmp, 'grouped'))).toBe(false);

    const bytes = onnxModelBytes(trained);
    expect(onnxConvs(bytes).get('cells.0.conv1')).toEqual({ group: 4, dims: [24, 6, 3, 3] });
    const img = realImages('cifar10', 4);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const result = await session.run({ image: new ort.Tensor('float32', pixels01(img), [img.n, 32, 32, 3]) });
      const d = maxAbsDiff(result.logits.data as Float32Array, mfnasLogits(trained, img));
      console.log(`grouped (4 groups): max |Δ| ONNX ${d.toExponential(2)}`);
      expect(d).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await session.release();
    }
  }, 60_000);

  it('refuses a conv whose groups do not divide its channels, and weights of the dense shape', () => {
    const bad = network('bad-groups', [expand(24), grouped(3, 24, 5)]);
    expect(() => exportGraph(trainedLike(bad, 1))).toThrow(/cells\.0\.conv1 has 5 groups, which do not divide its 24 input and 24 output channels/);
    const trained = trainedLike(MOBILE(), 1);
    const params = new Map(trained.params);
    params.set('cells.0.conv1.weight', { shape: [3, 3, 24, 24], data: new Float32Array(9 * 24 * 24) });
    expect(() => exportGraph({ ...trained, params })).toThrow(/cells\.0\.conv1\.weight has shape \[3,3,24,24\], expected \[3,3,1,24\]/);
  });

  it('leaves the tfjs engine without leaked tensors across a LayersModel build', () => {
    const graph = exportGraph(trainedLike(MOBILE(), 2));
    const before = tf.memory().numTensors;
    buildLayersModel(graph).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** NAS-Bench-Macro networks (the space's own spec): the best class, and one with identities and a 1×1 downsample. */
describe('NAS-Bench-Macro networks export', () => {
  for (const arch of ['22212220', '01200100']) {
    it(`macro ${arch}: LayersModel (own loaders, stock tfjs cpu) and ONNX logits within ${TOLERANCE}`, async () => {
      const trained = calibrated(macroNetworkSpec(parseMacroArch(arch), 'cifar10'), 13);
      const img = realImages('cifar10', 8);
      const runDir = path.join(tmp, `macro-${arch}`);
      await exportModel(trained, runDir);
      const classes = [...layerClasses(runDir).values()];
      expect(classes.filter((c) => c === 'DepthwiseConv2D').length).toBe(1 + arch.replace(/0/g, '').length); // + the normalisation
      await expectExportAgrees(`macro ${arch}`, trained, img, runDir, true);
    }, 120_000);
  }
});

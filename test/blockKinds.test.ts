/**
 * The block-kind registry: a kind defined and registered here, in the test, is assembled into a
 * NetworkSpec and runs everywhere a network goes — cost, initialisation, forward in every BN
 * mode with its hooks, gradients and the proxies' grouping, a training step, AZ-NAS's block
 * facts and the export graph (checked against the forward pass) — with no other file changed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { add } from '../src/engine/ops.js';
import {
  assembleNetwork, blockKind, bnReluSpec, bnSpec, convBnSpec, convOutSize, convSpec, countFlops, countParams,
  gradientParamNames, initNetwork, networkLayers, paramName, registerBlockKind,
  type BlockKind, type BnSpec, type ConvSpec, type NetworkParams, type NetworkSpec,
} from '../src/networks/index.js';
import { forward, lossAndGrads, toTensorParams } from '../src/networks/model.js';
import { exportGraph } from '../src/export/graph.js';
import { buildLayersModel } from '../src/export/layersModel.js';
import { blockOutShape, usedLayers } from '../src/proxies/azNas.js';
import { paramBlocks } from '../src/proxies/gradients.js';
import { addRunningStats, batchNorms, trainStep } from '../src/train/step.js';
import { InputError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

/** 1×1 conv → BN → ReLU, plus the input when the shape allows (a pointwise residual block). */
interface PointwiseSpec {
  readonly kind: 'test_pointwise';
  readonly name: string;
  readonly conv: ConvSpec;
  readonly bn: BnSpec;
  readonly residual: boolean;
}

function pointwise(name: string, cin: number, cout: number, stride: number, size: number): PointwiseSpec {
  const conv = convSpec(`${name}.conv`, cin, cout, 1, stride, size);
  return { kind: 'test_pointwise', name, conv, bn: bnSpec(`${name}.bn`, cout, convOutSize(conv)), residual: cin === cout && stride === 1 };
}

const pointwiseKind: BlockKind<PointwiseSpec> = {
  name: 'test_pointwise',
  layers: (b) => [b.conv, b.bn],
  forward(b, x, layers) {
    const y = layers.relu(layers.bn(b.bn, layers.conv(b.conv, x)));
    return b.residual ? add(x, y) : y;
  },
  graph(b, x, g) {
    const y = g.relu(`${b.name}.relu`, g.bn(b.bn, g.conv(b.conv, x)));
    return b.residual ? g.sum(`${b.name}.sum`, [x, y]) : y;
  },
  output: (b) => ({ size: b.bn.size, channels: b.bn.c }),
};

registerBlockKind(pointwiseKind);

/** stem 3→8 at 32², a residual pointwise block 8→8, a strided one 8→16 (to 16²), BN → ReLU head. */
const spec: NetworkSpec = assembleNetwork(
  'test', 'cifar10', 'pointwise-net',
  convBnSpec('stem', 3, 8, 3, 1, 32, false),
  [pointwise('cells.0', 8, 8, 1, 32), pointwise('cells.1', 8, 16, 2, 32)],
  bnReluSpec('lastact', 16, 16),
);

function batch(n: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.normal()), [n, 32, 32, 3]);
}

/** Initial weights with BN γ, β and running statistics perturbed, as after training. */
function trainedLike(seed: number): NetworkParams {
  const params = initNetwork(spec, seed);
  const rng = new Rng(seed).derive('trained');
  for (const layer of networkLayers(spec)) {
    if (layer.kind !== 'bn') continue;
    const vec = (lo: number, hi: number) => ({ shape: [layer.c], data: Float32Array.from({ length: layer.c }, () => rng.uniform(lo, hi)) });
    params.set(paramName(layer, 'gamma'), vec(0.5, 1.5));
    params.set(paramName(layer, 'beta'), vec(-0.3, 0.3));
    params.set(paramName(layer, 'running_mean'), vec(-0.5, 0.5));
    params.set(paramName(layer, 'running_var'), vec(0.2, 2));
  }
  return params;
}

beforeAll(async () => {
  await initEngine();
});

describe('a block kind registered by its user', () => {
  it('is found by name; names are not registered twice; unknown kinds are named in the error', () => {
    expect(blockKind('test_pointwise')).toBe(pointwiseKind);
    expect(() => registerBlockKind(pointwiseKind)).toThrow(InputError);
    expect(() => blockKind('no_such_kind')).toThrow(/unknown block kind 'no_such_kind'/);
  });

  it('gets parameter counts and FLOPs from its layers', () => {
    // stem 3·3·3·8 + 2·8; cells.0 8·8 + 2·8; cells.1 8·16 + 2·16; lastact 2·16; classifier 16·10 + 10
    expect(countParams(spec)).toBe(216 + 16 + 64 + 16 + 128 + 32 + 32 + 170);
    expect(spec.classifier.in).toBe(16);
    // MACs: stem 216·32², cells.0 64·32², cells.1 128·16², classifier 170
    expect(countFlops(spec)).toBeCloseTo((216 * 1024 + 64 * 1024 + 128 * 256 + 170) / 1e6, 12);
  });

  it('is initialised under its layers\' names, one stream per layer', () => {
    const params = initNetwork(spec, 3);
    expect(params.get('cells.1.conv.weight')!.shape).toEqual([1, 1, 8, 16]);
    expect(params.get('cells.1.bn.gamma')!.data.every((v) => v === 1)).toBe(true);
    expect([...params.values()].reduce((s, p) => s + p.data.length, 0)).toBe(countParams(spec));
    const bound = 1 / Math.sqrt(8);
    expect(params.get('cells.0.conv.weight')!.data.every((v) => Math.abs(v) <= bound)).toBe(true);
  });

  it('runs forward in every BN mode with the hooks, and gives gradients grouped by block', () => {
    const p = toTensorParams(initNetwork(spec, 1));
    const x = batch(4, 1);
    let relus = 0;
    const stats: string[] = [];
    const logits = tf.tidy(() => forward(spec, p, x, { onRelu: () => relus++, onBatchStats: (bn) => stats.push(bn.name) }).arraySync());
    expect(logits).toHaveLength(4);
    expect(logits.flat().every(Number.isFinite)).toBe(true);
    expect(relus).toBe(3); // cells.0, cells.1, lastact
    expect(stats).toEqual(['stem.bn', 'cells.0.bn', 'cells.1.bn', 'lastact.bn']);
    const free = tf.tidy(() => forward(spec, p, x, { batchNorm: 'none' }).arraySync());
    expect(free.flat().every(Number.isFinite)).toBe(true);

    const names = gradientParamNames(spec);
    expect(names).toEqual(['stem.conv.weight', 'cells.0.conv.weight', 'cells.1.conv.weight', 'classifier.weight']);
    const { grads } = lossAndGrads(spec, p, x, Int32Array.from([0, 1, 2, 3]), names, { skipDead: true });
    for (const n of names) expect(grads.get(n)!.some((g) => g !== 0)).toBe(true);
    const blocks = paramBlocks(spec);
    expect(blocks.get('cells.1.conv.weight')).toBe('cells.1');
    expect(blocks.has('stem.conv.weight')).toBe(false);
    tf.dispose([x, ...p.values()]);
  });

  it('trains a step: running statistics over N·H·W values of each BN\'s own size', () => {
    const params = initNetwork(spec, 2);
    addRunningStats(spec, params);
    expect(batchNorms(spec).map((b) => [b.name, b.size])).toEqual([['stem.bn', 32], ['cells.0.bn', 32], ['cells.1.bn', 16], ['lastact.bn', 16]]);
    const x = batch(2, 2);
    const r = trainStep(spec, params, x.dataSync() as Float32Array, Int32Array.from([3, 7]));
    x.dispose();
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.grads.get('cells.1.bn.beta')!.length).toBe(16);
    expect(params.get('cells.1.bn.running_var')!.data.some((v) => v !== 1)).toBe(true);
  });

  it('answers what AZ-NAS reads: output shapes and the layers it runs', () => {
    expect(blockOutShape(spec.blocks[0], 64)).toEqual([64, 32, 32, 8]);
    expect(blockOutShape(spec.blocks[1], 64)).toEqual([64, 16, 16, 16]);
    expect([...usedLayers(spec)]).toEqual(['stem.conv', 'stem.bn', 'cells.0.conv', 'cells.0.bn', 'cells.1.conv', 'cells.1.bn']);
  });

  it('exports: its graph computes what its evaluation-mode forward computes', () => {
    const params = trainedLike(5);
    const graph = exportGraph({
      spec, params, labels: Array.from({ length: 10 }, (_, i) => `c${i}`),
      preprocess: { imageSize: 32, channelOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] },
    });
    const names = graph.nodes.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(['cells.0.conv', 'cells.0.relu', 'cells.0.sum', 'cells.1.bn', 'lastact.relu']));
    expect(names).not.toContain('cells.1.sum');
    const model = buildLayersModel(graph);
    const x = batch(3, 9);
    const p = toTensorParams(params);
    const ours = tf.tidy(() => forward(spec, p, x, { batchNorm: 'eval' }).dataSync());
    const theirs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    expect(theirs.length).toBe(30);
    let worst = 0;
    ours.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - theirs[i])); });
    expect(worst).toBeLessThan(1e-4);
    model.dispose();
    tf.dispose([x, ...p.values()]);
  });
});

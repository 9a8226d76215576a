/**
 * The TensorFlow.js LayersModel export: the graph of ./graph.ts as a functional-API model of
 * stock layers only (a custom layer would have to be registered in every runtime that loads
 * the model), saved as `model.json` + `weights.bin` in the format `tf.loadLayersModel` reads
 * in Node and in browsers; and the file-reading handler that loads it back.
 *
 * Layer choices, each exact for the op it stands for:
 * - normalisation: a 1×1 depthwise convolution with kernel 1/std and bias −mean/std;
 * - convolution: 'same' only where TensorFlow's 'same' is PyTorch's symmetric padding
 *   (stride 1, odd kernel, pad (k−1)/2); otherwise ZeroPadding2D + 'valid' (a 3×3 stride-2
 *   'same' convolution would pad 0 before and 1 after an even input);
 * - depthwise convolution (groups = cin): DepthwiseConv2D with depth multiplier cout/cin, padded
 *   as above; its kernel [k, k, cin, cout/cin] has the memory order of mfnas's [k, k, 1, cout]
 *   (output channel c·m + j of both is filter j of input channel c), so the bytes are reused.
 *   Other grouped convolutions (1 < groups < cin) are refused: tfjs-layers' Conv2D has no
 *   `groups` argument (4.22), and no builtin space has them;
 * - avg_pool_3x3: AveragePooling2D 'same', which on every tfjs backend (cpu, webgl, wasm,
 *   tensorflow) divides by the number of in-image positions, i.e. count_include_pad=False;
 * - batch norm: BatchNormalization with the running statistics and epsilon 1e-5;
 * - a constant-zero cell node: a 1×1 convolution with an all-zero kernel.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainedNetwork } from '../networks/trained.js';
import { initEngine } from '../engine/backend.js';
import { writeFilesAtomic, type OutputFile } from '../util/atomicWrite.js';
import { DataError, InputError, quoteInput, quotePath } from '../util/errors.js';
import { readRegularFileSync } from '../util/regularFile.js';
import { exportGraph, INPUT_NAME, type ExportGraph, type GraphNode } from './graph.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Metadata stored in model.json (`userDefinedMetadata.mfnas`), so the folder describes itself. */
export interface ExportMetadata {
  readonly space: string;
  readonly dataset: string;
  readonly arch: string;
  readonly labels: readonly string[];
  readonly preprocess: TrainedNetwork['preprocess'];
}

type Symbolic = tf.SymbolicTensor;

function layerFor(node: GraphNode): { layer: tf.layers.Layer; weights: tf.Tensor[] } | null {
  const name = node.name;
  switch (node.op) {
    case 'input':
      return null;
    case 'normalize':
      return {
        layer: tf.layers.depthwiseConv2d({ name, kernelSize: 1, depthMultiplier: 1, useBias: true, depthwiseInitializer: 'zeros' }),
        weights: [
          tf.tensor4d(node.std.map((s) => 1 / s), [1, 1, 3, 1]),
          tf.tensor1d(node.mean.map((m, c) => -m / node.std[c])),
        ],
      };
    case 'conv':
      return null; // two layers for some paddings: see convLayers
    case 'bn':
      return {
        layer: tf.layers.batchNormalization({ name, axis: -1, epsilon: node.eps, momentum: 0.9 }),
        weights: [node.gamma, node.beta, node.mean, node.variance].map((v) => tf.tensor1d(v)),
      };
    case 'relu':
      return { layer: tf.layers.reLU({ name }), weights: [] };
    case 'avgPool3':
      return { layer: tf.layers.averagePooling2d({ name, poolSize: 3, strides: 1, padding: 'same' }), weights: [] };
    case 'avgPool2':
      return { layer: tf.layers.averagePooling2d({ name, poolSize: 2, strides: 2, padding: 'valid' }), weights: [] };
    case 'zeros':
      return {
        layer: tf.layers.conv2d({ name, filters: node.cout, kernelSize: 1, useBias: false, kernelInitializer: 'zeros' }),
        weights: [tf.zeros([1, 1, node.cin, node.cout])],
      };
    case 'add':
      return { layer: tf.layers.add({ name }), weights: [] };
    case 'globalAvgPool':
      return { layer: tf.layers.globalAveragePooling2d({ name, dataFormat: 'channelsLast' }), weights: [] };
    case 'dense':
      return {
        layer: tf.layers.dense({ name, units: node.out, useBias: true, kernelInitializer: 'zeros' }),
        weights: [tf.tensor2d(node.weight, [node.in, node.out]), tf.tensor1d(node.bias)],
      };
  }
}

/**
 * Build the LayersModel of an export graph with its weights set. The caller disposes it.
 * Needs an initialised tfjs backend.
 */
export function buildLayersModel(graph: ExportGraph, name = 'mfnas'): tf.LayersModel {
  for (const node of graph.nodes) {
    if (node.op === 'conv' && node.groups > 1 && node.groups !== node.cin) {
      throw new InputError(`the convolution ${node.name} has ${node.groups} groups of ${node.cin / node.groups} channels: ` +
        'a TensorFlow.js LayersModel holds no grouped convolution but a depthwise one (tfjs-layers\' Conv2D has no groups)');
    }
  }
  const out: Symbolic[] = [];
  const pending: Array<{ layer: tf.layers.Layer; weights: tf.Tensor[] }> = [];
  let input: Symbolic | null = null;
  for (const node of graph.nodes) {
    if (node.op === 'input') {
      input = tf.input({ name: INPUT_NAME, shape: [node.size, node.size, 3], dtype: 'float32' });
      out.push(input);
      continue;
    }
    if (node.op === 'conv') {
      const depthwise = node.groups > 1;
      const symmetricSame = node.stride === 1 && node.k % 2 === 1 && 2 * node.pad === node.k - 1;
      let x = out[node.input];
      if (node.pad > 0 && !symmetricSame) {
        x = tf.layers.zeroPadding2d({ name: `${node.name}.pad`, padding: node.pad }).apply(x) as Symbolic;
      }
      const padding = node.pad > 0 && symmetricSame ? 'same' : 'valid';
      const layer = depthwise
        ? tf.layers.depthwiseConv2d({
          name: node.name, kernelSize: node.k, depthMultiplier: node.cout / node.cin, strides: node.stride,
          padding, useBias: false, depthwiseInitializer: 'zeros',
        })
        : tf.layers.conv2d({
          name: node.name, filters: node.cout, kernelSize: node.k, strides: node.stride,
          padding, useBias: false, kernelInitializer: 'zeros',
        });
      out.push(layer.apply(x) as Symbolic);
      const shape: [number, number, number, number] = depthwise ? [node.k, node.k, node.cin, node.cout / node.cin] : [node.k, node.k, node.cin, node.cout];
      pending.push({ layer, weights: [tf.tensor4d(node.weight, shape)] });
      continue;
    }
    const made = layerFor(node)!;
    const args = node.op === 'add' ? node.inputs.map((i) => out[i]) : out[node.input];
    out.push(made.layer.apply(args) as Symbolic);
    if (made.weights.length > 0) pending.push(made);
  }
  const model = tf.model({ name, inputs: input!, outputs: out[graph.output] });
  for (const { layer, weights } of pending) {
    layer.setWeights(weights);
    tf.dispose(weights);
  }
  return model;
}

/** The two files of a saved LayersModel, as a save handler receives them. */
async function modelFiles(model: tf.LayersModel, metadata: ExportMetadata): Promise<{ json: string; weights: Uint8Array }> {
  model.setUserDefinedMetadata({ mfnas: metadata as unknown as object });
  let saved: { json: string; weights: Uint8Array } | null = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightData = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const modelJson: Record<string, unknown> = {
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    saved = { json: JSON.stringify(modelJson), weights: new Uint8Array(weightData) };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
  }));
  return saved!;
}

export function exportMetadata(trained: TrainedNetwork): ExportMetadata {
  const { spec, labels, preprocess } = trained;
  return {
    space: spec.space, dataset: spec.dataset, arch: spec.arch, labels: [...labels],
    preprocess: { imageSize: preprocess.imageSize, channelOrder: preprocess.channelOrder, mean: [...preprocess.mean], std: [...preprocess.std] },
  };
}

/** The files of the LayersModel export under `dir` (not yet written). */
export async function layersModelFiles(trained: TrainedNetwork, dir: string): Promise<OutputFile[]> {
  const graph = exportGraph(trained);
  await initEngine();
  const model = buildLayersModel(graph);
  try {
    const { json, weights } = await modelFiles(model, exportMetadata(trained));
    return [{ path: path.join(dir, MODEL_JSON), data: json }, { path: path.join(dir, WEIGHTS_BIN), data: weights }];
  } finally {
    model.dispose();
  }
}

/**
 * Export a trained network as a TensorFlow.js LayersModel: `dir/model.json` + `dir/weights.bin`,
 * loadable with `tf.loadLayersModel` (Node: through a file handler such as `fileModelHandler`,
 * or tfjs-node's `file://`; browser: over HTTP). Input: NHWC float32 RGB [N, S, S, 3] with
 * pixels in [0, 1]; output: the logits [N, classes]. Both files are written atomically, together.
 */
export async function exportLayersModel(trained: TrainedNetwork, dir: string): Promise<void> {
  writeFilesAtomic(await layersModelFiles(trained, dir));
}

/** A JSON file of an export; a missing file is an InputError (wrong folder), a damaged one (or a FIFO, a device, a folder) a DataError. */
export function readJsonFile(file: string, what: string): unknown {
  try {
    fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`${quotePath(file)} does not exist; give the run folder of \`mfnas export\` (it holds ${what})`);
    }
  }
  const bytes = readRegularFileSync(file, { what: `the ${what}`, hint: 're-run `mfnas export`' });
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DataError(`${quotePath(file)} is not valid JSON; re-run \`mfnas export\``);
  }
}

/** Bytes of one float32 weight of `shape`. */
const weightBytes = (shape: readonly number[]) => 4 * shape.reduce((a, b) => a * b, 1);

/**
 * The weights manifest of model.json, checked before tfjs reads it: without one, tfjs keeps the
 * layers' initial weights (all zeros here) and the model predicts the same for every image.
 * mfnas writes plain float32 weights, so that is all it accepts.
 */
function checkManifest(manifest: unknown, file: string): tf.io.WeightsManifestConfig {
  const bad = (why: string) => new DataError(`${quotePath(file)} ${why}; re-run \`mfnas export\``);
  if (!Array.isArray(manifest) || manifest.length === 0) throw bad('has no weights (weightsManifest is missing or empty)');
  const names = new Set<string>();
  for (const group of manifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    if (g === null || typeof g !== 'object' || !Array.isArray(g.paths) || g.paths.length === 0 || !g.paths.every((p) => typeof p === 'string' && p !== '')
      || !Array.isArray(g.weights)) {
      throw bad('has a weightsManifest entry without weight file paths or a weight list');
    }
    for (const w of g.weights as unknown[]) {
      const e = w as { name?: unknown; shape?: unknown; dtype?: unknown; quantization?: unknown } | null;
      if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || !Array.isArray(e.shape)
        || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || e.dtype !== 'float32' || e.quantization !== undefined) {
        throw bad('lists a weight that is not a named float32 tensor with a shape');
      }
      if (names.has(e.name)) throw bad(`lists the weight ${quoteInput(e.name)} twice`);
      names.add(e.name);
    }
  }
  return manifest as tf.io.WeightsManifestConfig;
}

/**
 * A tf.io handler that loads a LayersModel saved as `model.json` + weight files from disk
 * (what tfjs-node's `file://` does, for @tensorflow/tfjs alone). Weight files must sit in
 * the folder of model.json, be regular files, and hold exactly the bytes the manifest lists.
 */
export function fileModelHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJson = readJsonFile(modelJsonPath, MODEL_JSON) as tf.io.ModelJSON;
      if (modelJson == null || typeof modelJson !== 'object' || modelJson.modelTopology == null) {
        throw new DataError(`${quotePath(modelJsonPath)} is not a TensorFlow.js model (no modelTopology); re-run \`mfnas export\``);
      }
      const manifest = checkManifest(modelJson.weightsManifest, modelJsonPath);
      const dir = path.dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON({ ...modelJson, weightsManifest: manifest }, async (groups) => {
        const buffers: ArrayBuffer[] = [];
        let total = 0;
        for (const group of groups) {
          for (const p of group.paths) {
            const file = path.join(dir, path.basename(p));
            const bytes = readRegularFileSync(file, { what: 'the weights', hint: 're-run `mfnas export`' });
            total += bytes.byteLength;
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        const specs = tf.io.getWeightSpecs(groups);
        const expected = specs.reduce((sum, w) => sum + weightBytes(w.shape), 0);
        if (total !== expected) {
          throw new DataError(`the weight files of ${quotePath(modelJsonPath)} hold ${total.toLocaleString('en-US')} bytes where its manifest lists ` +
            `${expected.toLocaleString('en-US')}; re-run \`mfnas export\``);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/**
 * Throws a DataError unless the loaded weights `specs` are exactly the weights of `model`'s
 * layers, name for name and shape for shape: tfjs leaves any weight it is not given at its
 * initial value, which for an export's layers is zero.
 */
export function checkWeightsCover(model: tf.LayersModel, specs: readonly tf.io.WeightsManifestEntry[], file: string): void {
  const bad = (why: string) => new DataError(`${quotePath(file)} ${why}; re-run \`mfnas export\``);
  const given = new Map(specs.map((s) => [s.name, s.shape]));
  const wanted = new Map(model.weights.map((w) => [w.originalName, w.shape]));
  for (const [name, shape] of wanted) {
    const got = given.get(name);
    if (!got) throw bad(`has no weights for ${quoteInput(name)}`);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw bad(`gives ${quoteInput(name)} the shape [${got.join(', ')}] where its layer takes [${shape.join(', ')}]`);
    }
  }
  for (const name of given.keys()) if (!wanted.has(name)) throw bad(`lists the weight ${quoteInput(name)}, which no layer has`);
}

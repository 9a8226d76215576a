/**
 * The ONNX export: the graph of ./graph.ts as an ONNX ModelProto (IR version 7, opset 13),
 * encoded with protobufjs from the official onnx.proto schema (./onnxSchema.ts).
 *
 * The model takes the same input as the LayersModel — NHWC float32 RGB [N, S, S, 3] pixels in
 * [0, 1], named `image` — and transposes it to NCHW for the ONNX operators; its output `logits`
 * is [N, classes]. Convolutions carry explicit symmetric pads (PyTorch semantics) and their
 * `group` (weights OIHW [cout, cin/group, k, k], as PyTorch's), the 3×3
 * average pool has count_include_pad = 0, batch norms use the running statistics.
 */
import protobuf from 'protobufjs';
import { writeFileAtomic } from '../util/atomicWrite.js';
import type { TrainedNetwork } from '../networks/trained.js';
import { exportGraph, INPUT_NAME, OUTPUT_NAME, type ExportGraph, type GraphNode } from './graph.js';
import { exportMetadata } from './layersModel.js';
import { ONNX_PROTO } from './onnxSchema.js';

/** The ONNX IR version matching opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
export const ONNX_OPSET = 13;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

let modelType: protobuf.Type | null = null;

/** onnx.ModelProto, parsed once from the embedded schema (field names as in onnx.proto). */
export function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

interface Attribute { name: string; type: number; i?: number; f?: number; ints?: number[]; s?: Uint8Array }
interface OnnxNode { name: string; op_type: string; input: string[]; output: string[]; attribute: Attribute[] }
interface Initializer { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }

const ints = (name: string, v: number[]): Attribute => ({ name, type: ATTR.INTS, ints: v });
const int = (name: string, v: number): Attribute => ({ name, type: ATTR.INT, i: v });
const float = (name: string, v: number): Attribute => ({ name, type: ATTR.FLOAT, f: v });

/** Little-endian float32 bytes, as TensorProto.raw_data requires whatever the host's byte order. */
function rawFloats(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return bytes;
}

/** HWIO [k, k, cin, cout] → OIHW [cout, cin, k, k] (`cin` per group for a grouped convolution). */
function hwioToOihw(w: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < k; y++) {
    for (let x = 0; x < k; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) out[((o * cin + i) * k + y) * k + x] = w[((y * k + x) * cin + i) * cout + o];
      }
    }
  }
  return out;
}

class OnnxGraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: Initializer[] = [];

  constant(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: rawFloats(values) });
    return name;
  }

  node(op_type: string, name: string, input: string[], output: string, attribute: Attribute[] = []): string {
    this.nodes.push({ name, op_type, input, output: [output], attribute });
    return output;
  }
}

function translate(graph: ExportGraph): OnnxGraphBuilder {
  const b = new OnnxGraphBuilder();
  const names: string[] = [];
  const outName = (i: number, node: GraphNode) => (i === graph.output ? OUTPUT_NAME : node.name);
  graph.nodes.forEach((node, i) => {
    const out = outName(i, node);
    switch (node.op) {
      case 'input':
        names.push(b.node('Transpose', `${INPUT_NAME}.nchw`, [INPUT_NAME], `${INPUT_NAME}.nchw`, [ints('perm', [0, 3, 1, 2])]));
        return;
      case 'normalize': {
        const mean = b.constant(`${node.name}.mean`, [1, 3, 1, 1], node.mean);
        const std = b.constant(`${node.name}.std`, [1, 3, 1, 1], node.std);
        const centred = b.node('Sub', `${node.name}.sub`, [names[node.input], mean], `${node.name}.centred`);
        names.push(b.node('Div', node.name, [centred, std], out));
        return;
      }
      case 'conv': {
        const cinPerGroup = node.cin / node.groups;
        const w = b.constant(`${node.name}.weight`, [node.cout, cinPerGroup, node.k, node.k], hwioToOihw(node.weight, node.k, cinPerGroup, node.cout));
        names.push(b.node('Conv', node.name, [names[node.input], w], out, [
          ints('kernel_shape', [node.k, node.k]), ints('strides', [node.stride, node.stride]),
          ints('pads', [node.pad, node.pad, node.pad, node.pad]), ints('dilations', [1, 1]), int('group', node.groups),
        ]));
        return;
      }
      case 'zeros': {
        const w = b.constant(`${node.name}.weight`, [node.cout, node.cin, 1, 1], new Float32Array(node.cout * node.cin));
        names.push(b.node('Conv', node.name, [names[node.input], w], out, [ints('kernel_shape', [1, 1])]));
        return;
      }
      case 'bn': {
        const c = [node.channels];
        const inputs = [
          names[node.input],
          b.constant(`${node.name}.gamma`, c, node.gamma), b.constant(`${node.name}.beta`, c, node.beta),
          b.constant(`${node.name}.running_mean`, c, node.mean), b.constant(`${node.name}.running_var`, c, node.variance),
        ];
        names.push(b.node('BatchNormalization', node.name, inputs, out, [float('epsilon', node.eps)]));
        return;
      }
      case 'relu':
        names.push(b.node('Relu', node.name, [names[node.input]], out));
        return;
      case 'avgPool3':
        names.push(b.node('AveragePool', node.name, [names[node.input]], out, [
          ints('kernel_shape', [3, 3]), ints('strides', [1, 1]), ints('pads', [1, 1, 1, 1]), int('count_include_pad', 0),
        ]));
        return;
      case 'avgPool2':
        names.push(b.node('AveragePool', node.name, [names[node.input]], out, [
          ints('kernel_shape', [2, 2]), ints('strides', [2, 2]), ints('pads', [0, 0, 0, 0]),
        ]));
        return;
      case 'add': {
        // Binary Adds, left to right, as the other implementations sum.
        let acc = names[node.inputs[0]];
        for (let k = 1; k < node.inputs.length; k++) {
          const last = k === node.inputs.length - 1;
          acc = b.node('Add', last ? node.name : `${node.name}.${k}`, [acc, names[node.inputs[k]]], last ? out : `${node.name}.${k}`);
        }
        names.push(acc);
        return;
      }
      case 'globalAvgPool': {
        const pooled = b.node('GlobalAveragePool', node.name, [names[node.input]], `${node.name}.nc11`);
        names.push(b.node('Flatten', `${node.name}.flatten`, [pooled], out, [int('axis', 1)]));
        return;
      }
      case 'dense': {
        const w = b.constant(`${node.name}.weight`, [node.in, node.out], node.weight);
        const bias = b.constant(`${node.name}.bias`, [node.out], node.bias);
        names.push(b.node('Gemm', node.name, [names[node.input], w, bias], out, [float('alpha', 1), float('beta', 1)]));
        return;
      }
    }
  });
  return b;
}

function tensorType(dims: Array<number | string>) {
  return {
    tensor_type: {
      elem_type: FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  };
}

/** The ONNX model of a trained network, encoded (the bytes of a `.onnx` file). */
export function onnxModelBytes(trained: TrainedNetwork): Uint8Array {
  const graph = exportGraph(trained);
  const b = translate(graph);
  const s = graph.imageSize;
  const meta = exportMetadata(trained);
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'mfnas',
    graph: {
      name: 'mfnas',
      doc_string: `${meta.space} ${meta.arch} (${meta.dataset}): input NHWC float32 RGB pixels in [0, 1], output logits`,
      node: b.nodes,
      initializer: b.initializers,
      input: [{ name: INPUT_NAME, type: tensorType(['batch', s, s, 3]) }],
      output: [{ name: OUTPUT_NAME, type: tensorType(['batch', graph.classes]) }],
    },
    metadata_props: [
      { key: 'mfnas.space', value: meta.space },
      { key: 'mfnas.dataset', value: meta.dataset },
      { key: 'mfnas.arch', value: meta.arch },
      { key: 'mfnas.labels', value: JSON.stringify(meta.labels) },
      { key: 'mfnas.preprocess', value: JSON.stringify(meta.preprocess) },
    ],
  };
  const type = onnxModelType();
  const error = type.verify(model);
  if (error) throw new Error(`ONNX export built an invalid ModelProto: ${error}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Export a trained network as an ONNX model file (written atomically); see the module comment. */
export async function exportOnnx(trained: TrainedNetwork, file: string): Promise<void> {
  writeFileAtomic(file, onnxModelBytes(trained));
}

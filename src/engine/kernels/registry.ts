/**
 * mfnas's kernel registry: kernel name → per-backend implementation → gradient.
 *
 * The layering follows tfjs-core's: an op (../ops.ts) checks its arguments and runs a kernel;
 * a kernel is a forward function registered per backend, with the gradient of that
 * implementation beside it (an implementation saves what its own gradient needs, so the two go
 * together). A kernel without a gradient is built from differentiable tfjs ops and tfjs's
 * autodiff differentiates it.
 *
 * Which implementation runs is decided once per engine start (`selectMfnasKernels`, called by
 * `initEngine`), never per call: each engine has a lookup order of backends, ending in '*', the
 * implementation from plain tfjs ops that every kernel has.
 *
 * These are not tfjs kernels (`tf.registerKernel`): those are the backend-level kernels that
 * mfnas replaces or adds underneath tfjs (../wasm/tfjsKernels.ts, ../addon/tfjsKernels.ts), and
 * that some of the implementations registered here call.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ActiveBackend } from '../backend.js';

/**
 * Where an implementation runs: 'native' (oneDNN under the wasm backend), 'wasm', 'tensorflow'
 * (the tfjs backend of the 'node' engine), 'cpu', or '*' (plain tfjs ops, any backend).
 */
export type KernelBackend = 'native' | 'wasm' | 'tensorflow' | 'cpu' | '*';

/** Receives the batch statistics of a training-mode batch norm (see ops.batchNormTrain). */
export type BatchStatsSink = (mean: Float32Array, variance: Float32Array) => void;

/** Inputs, attributes and output of every mfnas kernel, by name. */
export interface MfnasKernelSignatures {
  /** 2-D convolution with PyTorch's symmetric zero padding `pad`. */
  Conv2dTorchPad: { inputs: [x: tf.Tensor4D, filter: tf.Tensor4D]; attrs: { stride: number; pad: number }; output: tf.Tensor4D };
  /**
   * Depthwise 2-D convolution (PyTorch groups = channels, one filter per channel), x [N,H,W,C],
   * filter [kh,kw,C,1], PyTorch's symmetric zero padding `pad`.
   */
  DepthwiseConv2dTorchPad: { inputs: [x: tf.Tensor4D, filter: tf.Tensor4D]; attrs: { stride: number; pad: number }; output: tf.Tensor4D };
  /** Per-channel mean over N,H,W: [N,H,W,C] → [C]. */
  ChannelMean: { inputs: [x: tf.Tensor4D]; attrs: Record<string, never>; output: tf.Tensor1D };
  /** Per-channel sum over N,H,W: [N,H,W,C] → [C]. */
  ChannelSum: { inputs: [x: tf.Tensor4D]; attrs: Record<string, never>; output: tf.Tensor1D };
  /** x·scale + shift per channel (shift optional). */
  ChannelAffine: {
    inputs: [x: tf.Tensor4D, scale: tf.Tensor1D, shift?: tf.Tensor1D]; attrs: Record<string, never>; output: tf.Tensor4D;
  };
  /** 3x3 stride-1 pad-1 average pool, padding excluded from the divisor. */
  AvgPool3x3ExcludePad: { inputs: [x: tf.Tensor4D]; attrs: Record<string, never>; output: tf.Tensor4D };
  /** 2x2 stride-2 average pool (floor mode). */
  AvgPool2x2: { inputs: [x: tf.Tensor4D]; attrs: Record<string, never>; output: tf.Tensor4D };
  /** [N,H,W,C] → [N,C]. */
  GlobalAvgPool: { inputs: [x: tf.Tensor4D]; attrs: Record<string, never>; output: tf.Tensor2D };
  /** Training-mode batch norm (batch statistics, biased variance). */
  BatchNormTrain: {
    inputs: [x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D];
    attrs: { eps: number; onBatchStats?: BatchStatsSink };
    output: tf.Tensor4D;
  };
  /** Evaluation-mode batch norm (running statistics). */
  BatchNormEval: {
    inputs: [x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, runningMean: tf.Tensor1D, runningVar: tf.Tensor1D];
    attrs: { eps: number };
    output: tf.Tensor4D;
  };
  /** a + b, both of one shape. */
  Add: { inputs: [a: tf.Tensor, b: tf.Tensor]; attrs: Record<string, never>; output: tf.Tensor };
  /** ((x0 + x1) + x2) + …, all of one shape, at least 2. */
  AddN: { inputs: tf.Tensor[]; attrs: Record<string, never>; output: tf.Tensor };
  /** max(x, 0), gradient 0 at 0. */
  Relu: { inputs: [x: tf.Tensor]; attrs: Record<string, never>; output: tf.Tensor };
  /** x·w + b. */
  Linear: { inputs: [x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D]; attrs: Record<string, never>; output: tf.Tensor2D };
  /** Batch mean of −log softmax(logits)[label]. */
  SoftmaxCrossEntropyMean: {
    inputs: [logits: tf.Tensor2D]; attrs: { labels: Int32Array | readonly number[] }; output: tf.Scalar;
  };
}

export type MfnasKernelName = keyof MfnasKernelSignatures;
export type KernelInputs<N extends MfnasKernelName> = MfnasKernelSignatures[N]['inputs'];
export type KernelAttrs<N extends MfnasKernelName> = MfnasKernelSignatures[N]['attrs'];
export type KernelOutput<N extends MfnasKernelName> = MfnasKernelSignatures[N]['output'];

/** Keeps tensors for the gradient (tfjs's GradSaveFunc: they are cloned and kept). */
export type SaveForGradient = (tensors: tf.Tensor[]) => void;

/** One backend's implementation of the kernel `N`. */
export interface MfnasKernelConfig<N extends MfnasKernelName = MfnasKernelName> {
  name: N;
  backend: KernelBackend;
  /** The output; tensors the gradient needs go to `save` (called at most once). */
  forward(inputs: KernelInputs<N>, attrs: KernelAttrs<N>, save: SaveForGradient): KernelOutput<N>;
  /**
   * The gradients of the inputs (one per input, in order) from the output's gradient `dy`, the
   * tensors `forward` saved and the forward call's inputs and attributes. Absent: `forward` is
   * made of differentiable tfjs ops and tfjs differentiates it.
   */
  gradient?(dy: KernelOutput<N>, saved: tf.Tensor[], inputs: KernelInputs<N>, attrs: KernelAttrs<N>): tf.Tensor | tf.Tensor[];
}

/**
 * Implementations tried for each engine, first registered wins. The native engine is the wasm
 * backend with oneDNN kernels added, so what is written for wasm runs there too.
 */
const LOOKUP_ORDER: Record<ActiveBackend, readonly KernelBackend[]> = {
  native: ['native', 'wasm', '*'],
  wasm: ['wasm', '*'],
  node: ['tensorflow', '*'],
  cpu: ['cpu', '*'],
};

const registered = new Map<MfnasKernelName, Map<KernelBackend, MfnasKernelConfig>>();
let engine: ActiveBackend | null = null;
let resolved: Map<MfnasKernelName, MfnasKernelConfig> | null = null;

/** Registers one backend's implementation of a kernel; registering the same pair twice throws. */
export function registerMfnasKernel<N extends MfnasKernelName>(config: MfnasKernelConfig<N>): void {
  let impls = registered.get(config.name);
  if (!impls) registered.set(config.name, (impls = new Map()));
  if (impls.has(config.backend)) throw new Error(`mfnas kernel ${config.name} is already registered for '${config.backend}'`);
  impls.set(config.backend, config as unknown as MfnasKernelConfig);
  resolved = null;
}

/**
 * Makes the kernels of `active` the ones ops run (called by `initEngine` when an engine starts).
 * Before any engine starts, ops run the '*' implementations.
 */
export function selectMfnasKernels(active: ActiveBackend): void {
  engine = active;
  resolved = null;
}

/** The engine whose kernels ops run, or null before `initEngine()`. */
export function selectedKernelEngine(): ActiveBackend | null {
  return engine;
}

function resolveAll(): Map<MfnasKernelName, MfnasKernelConfig> {
  const order = engine ? LOOKUP_ORDER[engine] : (['*'] as const);
  const table = new Map<MfnasKernelName, MfnasKernelConfig>();
  for (const [name, impls] of registered) {
    const backend = order.find((b) => impls.has(b));
    if (backend) table.set(name, impls.get(backend)!);
  }
  return table;
}

/** The implementation of `name` that the selected engine runs. */
export function mfnasKernel<N extends MfnasKernelName>(name: N): MfnasKernelConfig<N> {
  resolved ??= resolveAll();
  const k = resolved.get(name);
  if (!k) throw new Error(`no implementation of mfnas kernel ${name} for the ${engine ?? 'default'} engine`);
  return k as unknown as MfnasKernelConfig<N>;
}

/** Which backend's implementation each kernel resolves to on the selected engine. */
export function mfnasKernelBackends(): Record<string, KernelBackend> {
  resolved ??= resolveAll();
  return Object.fromEntries([...resolved].map(([name, k]) => [name, k.backend]));
}

const noSave: SaveForGradient = () => undefined;

/** Runs a kernel's forward outside any gradient (for kernels used inside other kernels). */
export function runMfnasKernel<N extends MfnasKernelName>(name: N, inputs: KernelInputs<N>, attrs: KernelAttrs<N>): KernelOutput<N> {
  return mfnasKernel(name).forward(inputs, attrs, noSave);
}

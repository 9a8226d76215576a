/**
 * The parameterised layers every block is built from (conv, BN, linear) and the names of their
 * parameters. A block kind lists its layers; parameter shapes, counts, FLOPs and initialisation
 * all follow from the layers alone, so a new block kind gets them without code of its own.
 */

/**
 * A convolution without bias; weights are [k, k, cin/groups, cout] (TensorFlow.js HWIO; PyTorch's
 * [cout, cin/groups, k, k] transposed). Output channels [j·cout/g, (j+1)·cout/g) see input
 * channels [j·cin/g, (j+1)·cin/g); a depthwise conv is groups = cin = cout ([k, k, 1, C]).
 */
export interface ConvSpec {
  readonly kind: 'conv';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly stride: number;
  /** Symmetric zero padding (PyTorch semantics). */
  readonly pad: number;
  /** Spatial size of the input (square). */
  readonly inSize: number;
  /** Channel groups (PyTorch's `groups`); absent = 1. Divides cin and cout. */
  readonly groups?: number;
}

/** A conv's channel groups (1 when absent). */
export function convGroups(c: ConvSpec): number {
  return c.groups ?? 1;
}

/** Input channels each filter sees: cin / groups (PyTorch's fan_in is k²·cin/groups). */
export function convCinPerGroup(c: ConvSpec): number {
  return c.cin / convGroups(c);
}

/** Affine batch norm (γ, β), training-mode statistics. */
export interface BnSpec {
  readonly kind: 'bn';
  readonly name: string;
  readonly c: number;
  /**
   * Spatial size (square) of the maps it normalises: training's running-variance update needs
   * the number of values per channel, N·size².
   */
  readonly size: number;
}

export interface LinearSpec {
  readonly kind: 'linear';
  readonly name: string;
  readonly in: number;
  readonly out: number;
}

export type LayerSpec = ConvSpec | BnSpec | LinearSpec;

/**
 * A BN's 'running_mean' / 'running_var' are buffers, not trained parameters: only a trained
 * network has them (evaluation mode, export); initialisation and the proxies never do.
 */
export type ParamRole<L extends LayerSpec> = L extends BnSpec ? 'gamma' | 'beta' | 'running_mean' | 'running_var' : L extends LinearSpec ? 'weight' | 'bias' : 'weight';

/**
 * The name of one of a layer's parameters, `<layer>.<role>` (e.g. `cells.3.edge4.conv.weight`).
 * Initialisation, the model and the proxies all look parameters up by these names, so this is
 * the only place that spells them.
 */
export function paramName<L extends LayerSpec>(layer: L, role: ParamRole<L>): string {
  return `${layer.name}.${role}`;
}

/** A conv of kernel k with "same" padding for odd k (`(k − 1) / 2`), as every NATS-Bench conv. */
export function convSpec(name: string, cin: number, cout: number, k: number, stride: number, inSize: number): ConvSpec {
  return { kind: 'conv', name, cin, cout, k, stride, pad: (k - 1) >> 1, inSize };
}

/** A depthwise conv (groups = channels) of kernel k with "same" padding for odd k: weights [k, k, 1, channels]. */
export function depthwiseConvSpec(name: string, channels: number, k: number, stride: number, inSize: number): ConvSpec {
  return { kind: 'conv', name, cin: channels, cout: channels, k, stride, pad: (k - 1) >> 1, inSize, groups: channels };
}

export function bnSpec(name: string, c: number, size: number): BnSpec {
  return { kind: 'bn', name, c, size };
}

/** Spatial size of a conv's output. */
export function convOutSize(c: ConvSpec): number {
  return Math.floor((c.inSize + 2 * c.pad - c.k) / c.stride) + 1;
}

/** Every parameter of a layer (name, shape) in a fixed order: the trained parameters' order. */
export function layerParamShapes(layer: LayerSpec): Array<[string, number[]]> {
  switch (layer.kind) {
    case 'conv':
      return [[paramName(layer, 'weight'), [layer.k, layer.k, convCinPerGroup(layer), layer.cout]]];
    case 'bn':
      return [[paramName(layer, 'gamma'), [layer.c]], [paramName(layer, 'beta'), [layer.c]]];
    case 'linear':
      return [[paramName(layer, 'weight'), [layer.in, layer.out]], [paramName(layer, 'bias'), [layer.out]]];
  }
}

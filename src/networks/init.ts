/**
 * Seeded weight initialisation, engine-agnostic (plain Float32Arrays), as PyTorch's defaults:
 * conv and linear weights Kaiming-uniform with a = √5, i.e. U(±1/√fan_in); linear bias
 * U(±1/√fan_in); BN γ = 1, β = 0.
 *
 * Each layer draws from its own stream derived from (seed, layer name), so a layer's weights do
 * not depend on which other layers exist: functionally identical cells share their live
 * weights, and skipping dead branches changes nothing.
 */
import { Rng } from '../util/rng.js';
import { convCinPerGroup, layerParamShapes, paramName, type LayerSpec } from './layers.js';
import { networkLayers, type NetworkSpec } from './spec.js';

export interface ParamTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Parameters by name (`paramName`): weight (+ bias) for conv and linear, gamma and beta for BN. */
export type NetworkParams = Map<string, ParamTensor>;

export function initLayer(layer: LayerSpec, seed: number): NetworkParams {
  const rng = new Rng(seed).derive(layer.name);
  const out: NetworkParams = new Map();
  for (const [name, shape] of layerParamShapes(layer)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (layer.kind === 'bn') {
      if (name === paramName(layer, 'gamma')) data.fill(1);
    } else {
      const fanIn = layer.kind === 'conv' ? layer.k * layer.k * convCinPerGroup(layer) : layer.in;
      const bound = 1 / Math.sqrt(fanIn);
      rng.fillUniform(data, -bound, bound);
    }
    out.set(name, { shape, data });
  }
  return out;
}

export function initNetwork(spec: NetworkSpec, seed: number): NetworkParams {
  const out: NetworkParams = new Map();
  for (const layer of networkLayers(spec)) for (const [k, v] of initLayer(layer, seed)) out.set(k, v);
  return out;
}

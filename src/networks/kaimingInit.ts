/**
 * Kaiming-normal initialisation (He et al. 2015, fan_in mode, ReLU gain), as AZ-NAS's code
 * applies it before scoring: every conv and linear weight ~ N(0, 2 / fan_in) with
 * fan_in = C_in·k·k (not truncated), biases 0, BN γ = 1 and β = 0. The default initialisation
 * of mfnas (./init.ts, PyTorch's Kaiming-uniform) is untouched; this one is opt-in.
 *
 * As in ./init.ts, each layer draws from its own stream derived from (seed, layer name), so a
 * layer's weights do not depend on which other layers are initialised: a caller may skip the
 * layers it will never run (dead edges) without changing the others.
 */
import { Rng } from '../util/rng.js';
import type { NetworkParams } from './init.js';
import { convCinPerGroup, layerParamShapes, paramName, type LayerSpec } from './layers.js';
import { networkLayers, type NetworkSpec } from './spec.js';

/** One layer's Kaiming-normal parameters. */
export function kaimingNormalLayer(layer: LayerSpec, seed: number): NetworkParams {
  // A label of its own, so these weights are not a transform of the default init's draws.
  const rng = new Rng(seed).derive('kaiming-normal').derive(layer.name);
  const out: NetworkParams = new Map();
  for (const [name, shape] of layerParamShapes(layer)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (layer.kind === 'bn') {
      if (name === paramName(layer, 'gamma')) data.fill(1);
    } else if (!(layer.kind === 'linear' && name === paramName(layer, 'bias'))) {
      const fanIn = layer.kind === 'conv' ? layer.k * layer.k * convCinPerGroup(layer) : layer.in;
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    }
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * Kaiming-normal parameters of `spec`'s layers (all of them, or those `keep` accepts), by
 * parameter name as `initNetwork` gives them.
 */
export function initKaimingNormal(spec: NetworkSpec, seed: number, keep: (layer: LayerSpec) => boolean = () => true): NetworkParams {
  const out: NetworkParams = new Map();
  for (const layer of networkLayers(spec)) {
    if (!keep(layer)) continue;
    for (const [k, v] of kaimingNormalLayer(layer, seed)) out.set(k, v);
  }
  return out;
}

/**
 * The proxies mfnas computes, with the paper each comes from. Every proxy is "higher is better"
 * and is computed from the same seeded initialisation and the same proxy batches.
 */
import { InputError } from '../util/errors.js';

export const PROXY_NAMES = [
  'intgrad_param', 'intgrad_mean', 'zico', 'grad_norm', 'snip', 'synflow', 'naswot', 'params', 'flops',
] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];

/** How a proxy is computed; proxies of one kind share a pass. */
export type ProxyPass = 'gradient' | 'synflow' | 'naswot' | 'analytic';

export interface ProxyInfo {
  readonly name: ProxyName;
  readonly pass: ProxyPass;
  /**
   * Version of the definition, part of the score-cache key: bump it whenever the proxy's code
   * changes what it computes, so no score of the old definition is ever returned for it.
   */
  readonly version: number;
  /** Fewest proxy batches the definition is meaningful with (a std over batches needs two). */
  readonly minBatches: number;
  readonly paper: string;
  readonly definition: string;
}

export const PROXIES: Readonly<Record<ProxyName, ProxyInfo>> = {
  intgrad_param: {
    name: 'intgrad_param', pass: 'gradient', version: 1, minBatches: 1,
    paper: 'Fu et al., MFNAS: Multi-fidelity Exploration in NAS with Stable Zero-Shot Proxy, PRICAI 2024',
    definition: 'Fidelity 1 of the stable zero-shot proxy: over the cell list, keep gradient entries whose |mean over batches| lies in the histogram bin of |g| that holds the largest summed per-cell share; per layer log(1 + Σ kept mean/(std + 1e-5)), summed.',
  },
  intgrad_mean: {
    name: 'intgrad_mean', pass: 'gradient', version: 1, minBatches: 1,
    paper: 'Fu et al., PRICAI 2024 (MFNAS)',
    definition: 'Fidelity 2 of the stable zero-shot proxy: as intgrad_param with the per-layer mean of mean/(std + 1e-5) over kept entries instead of the sum.',
  },
  zico: {
    name: 'zico', pass: 'gradient', version: 2, minBatches: 2,
    paper: 'Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, ICLR 2023',
    definition: 'Σ over every conv and linear layer of log Σ_{std≠0} mean(|g|)/std(g) of each weight gradient g across the proxy batches (needs at least 2 batches).',
  },
  grad_norm: {
    name: 'grad_norm', pass: 'gradient', version: 1, minBatches: 1,
    paper: 'Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021',
    definition: 'Σ over conv and linear layers of the Euclidean norm of the weight gradient of the cross-entropy loss, averaged over the proxy batches.',
  },
  snip: {
    name: 'snip', pass: 'gradient', version: 1, minBatches: 1,
    paper: 'Lee et al., SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR 2019 (as a NAS proxy: Abdelfattah et al., ICLR 2021)',
    definition: 'Σ over conv and linear weights of |w · ∂L/∂w| for the cross-entropy loss, averaged over the proxy batches.',
  },
  synflow: {
    name: 'synflow', pass: 'synflow', version: 1, minBatches: 1,
    paper: 'Tanaka et al., Pruning neural networks without any data by iteratively conserving synaptic flow, NeurIPS 2020 (as a NAS proxy: Abdelfattah et al., ICLR 2021)',
    definition: 'Natural log of Σ over conv and linear weights of |w · ∂R/∂w|, R = sum of the outputs of the network with |weights|, BN removed, on an all-ones input (data-free). The log keeps the value finite in float32; the ranking is that of SynFlow.',
  },
  naswot: {
    name: 'naswot', pass: 'naswot', version: 1, minBatches: 1,
    paper: 'Mellor et al., Neural Architecture Search without Training, ICML 2021',
    definition: 'log|det K| of the kernel K[i,j] = number of ReLUs on which images i and j of the first proxy batch agree (both active or both inactive).',
  },
  params: {
    name: 'params', pass: 'analytic', version: 1, minBatches: 1,
    paper: 'baseline: network size',
    definition: 'Number of parameters (NATS-Bench counting: conv/linear weights, linear bias, BN γ and β).',
  },
  flops: {
    name: 'flops', pass: 'analytic', version: 1, minBatches: 1,
    paper: 'baseline: network cost',
    definition: 'Multiply-accumulates of convs and the classifier per image, in millions (NATS-Bench "FLOPs").',
  },
};

export const DEFAULT_PROXIES: readonly ProxyName[] = ['intgrad_param', 'intgrad_mean'];

export function isProxyName(text: string): text is ProxyName {
  return (PROXY_NAMES as readonly string[]).includes(text);
}

/** Comma-separated proxy names; `all` selects every proxy. */
export function parseProxyList(text: string): ProxyName[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 1 && items[0] === 'all') return [...PROXY_NAMES];
  const out: ProxyName[] = [];
  for (const item of items) {
    if (!isProxyName(item)) throw new InputError(`unknown proxy '${item}': use any of ${PROXY_NAMES.join(', ')} (or all)`);
    if (!out.includes(item)) out.push(item);
  }
  if (out.length === 0) throw new InputError('no proxy given: use e.g. --proxies intgrad_param,zico');
  return out;
}

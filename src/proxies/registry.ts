/**
 * The proxies mfnas computes, with the paper each comes from. Every proxy is "higher is better"
 * and is computed from the same seeded initialisation and the same proxy batches.
 */
import { InputError } from '../util/errors.js';
import type { ProxyDefinition } from './definition.js';
import { flops } from './definitions/flops.js';
import { gradNorm } from './definitions/grad_norm.js';
import { intgradMean } from './definitions/intgrad_mean.js';
import { intgradParam } from './definitions/intgrad_param.js';
import { naswot } from './definitions/naswot.js';
import { params } from './definitions/params.js';
import { snip } from './definitions/snip.js';
import { synflow } from './definitions/synflow.js';
import { zico } from './definitions/zico.js';

/**
 * Every proxy, in the order of listings, of `all` and of computation. A new proxy is a file in
 * definitions/ and one entry here.
 */
const DEFINITIONS = [intgradParam, intgradMean, zico, gradNorm, snip, synflow, naswot, params, flops] as const;

/** A string-literal union, so that a misspelt name in user code fails to type-check. */
export type ProxyName = (typeof DEFINITIONS)[number]['name'];

/** A registered proxy; `pass.name` says which shared pass computes it. */
export type ProxyInfo = ProxyDefinition<ProxyName>;

export const PROXY_LIST: readonly ProxyInfo[] = DEFINITIONS;
export const PROXY_NAMES: readonly ProxyName[] = DEFINITIONS.map((d) => d.name);
export const PROXIES: Readonly<Record<ProxyName, ProxyInfo>> =
  Object.fromEntries(DEFINITIONS.map((d) => [d.name, d])) as Record<ProxyName, ProxyInfo>;

/** The two fidelities of MFNAS (MFNAS.md §3), fidelity 1 first. */
export const MFNAS_FIDELITIES = ['intgrad_param', 'intgrad_mean'] as const satisfies readonly ProxyName[];

export const DEFAULT_PROXIES: readonly ProxyName[] = MFNAS_FIDELITIES;

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

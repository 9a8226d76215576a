/**
 * The proxies mfnas knows, with the paper each comes from: the builtins, and those a library
 * user's script adds with `registerProxy`. Every proxy is "higher is better" and is computed from
 * the same seeded initialisation and the same proxy batches. Also the parsing of proxy lists and
 * score specifications (`ensemble(a,b)`, presets), which sees every registered proxy.
 */
import { InputError, quoteInput } from '../util/errors.js';
import { azNas, columnOf, ensembleProxy, type SetProxyDefinition } from './aggregate.js';
import type { ProxyScores } from './scoreNetwork.js';
import type { ProxyDefinition } from './definition.js';
import { azComplexity } from './definitions/azComplexity.js';
import { azExpressivity } from './definitions/azExpressivity.js';
import { azProgressivity } from './definitions/azProgressivity.js';
import { azTrainability } from './definitions/azTrainability.js';
import { flops } from './definitions/flops.js';
import { gradNorm } from './definitions/gradNorm.js';
import { intgradMean } from './definitions/intgradMean.js';
import { intgradParam } from './definitions/intgradParam.js';
import { naswot } from './definitions/naswot.js';
import { params } from './definitions/params.js';
import { snip } from './definitions/snip.js';
import { synflow } from './definitions/synflow.js';
import { zico } from './definitions/zico.js';

/**
 * The builtin proxies, in the order of listings, of `all` and of computation. A new builtin is a
 * file in definitions/ and one entry here; a library user's proxy goes through `registerProxy`.
 */
const BUILTIN_DEFINITIONS = [
  intgradParam, intgradMean, zico, gradNorm, snip, synflow, naswot, params, flops,
  azExpressivity, azProgressivity, azTrainability, azComplexity,
] as const;

/** A builtin proxy's name: a string-literal union, so that a misspelt builtin name does not type-check. */
export type BuiltinProxyName = (typeof BUILTIN_DEFINITIONS)[number]['name'];

/**
 * Any proxy's name: a builtin's, or one a script registered (`registerProxy`). Written this way
 * so editors still complete the builtin names; an unknown name is an InputError at run time.
 */
export type ProxyName = BuiltinProxyName | (string & {});

/** A registered proxy; `pass.name` says which shared pass computes it. */
export type ProxyInfo = ProxyDefinition<ProxyName>;

/** Every proxy by name: the builtins, then the registered ones in the order they were registered. */
const registry = new Map<string, ProxyInfo>(BUILTIN_DEFINITIONS.map((d) => [d.name, d]));
const BUILTIN_NAMES: ReadonlySet<string> = new Set(BUILTIN_DEFINITIONS.map((d) => d.name));

// Live views of the registry (updated by registerProxy), for listing and for code written
// against the closed lists of earlier versions. A null-prototype object: a proxy name is never
// mistaken for an Object.prototype member.
const list: ProxyInfo[] = [...BUILTIN_DEFINITIONS];
const names: ProxyName[] = list.map((d) => d.name);
const byName: Record<ProxyName, ProxyInfo> = Object.assign(Object.create(null) as Record<ProxyName, ProxyInfo>, Object.fromEntries(registry));

/** Every proxy (builtins first, then registered ones): the order of `all`, listings and computation. */
export const PROXY_LIST: readonly ProxyInfo[] = list;
export const PROXY_NAMES: readonly ProxyName[] = names;
/** Every proxy by name; reading a name that is not registered gives undefined (see `proxyInfo`). */
export const PROXIES: Readonly<Record<ProxyName, ProxyInfo>> = byName;

/** The builtins alone: what worker threads and queue workers, which never run a user's script, know. */
export const BUILTIN_PROXY_NAMES: readonly BuiltinProxyName[] = BUILTIN_DEFINITIONS.map((d) => d.name);

/** The definition of a registered proxy; an unknown name is an InputError naming the known ones. */
export function proxyInfo(name: string): ProxyInfo {
  const d = registry.get(name);
  if (!d) throw new InputError(`unknown proxy ${quoteInput(name)}: register it with registerProxy first, or use one of ${PROXY_NAMES.join(',')}`);
  return d;
}

/** Whether `name` is a builtin proxy (known to every thread and every queue worker). */
export function isBuiltinProxy(name: string): name is BuiltinProxyName {
  return BUILTIN_NAMES.has(name);
}

export interface RegisterProxyOptions {
  /**
   * Replace a proxy this process registered earlier under the same name (a script's own
   * development loop). Never a builtin. Give the new definition a new `version`: scores are
   * cached by name and version, so the old definition's scores are then never returned.
   */
  readonly replace?: boolean;
}

/** A proxy name: an identifier, short enough for `--proxies` items and one-line messages. */
const NAME_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * Adds a proxy written outside mfnas (with `defineProxy` and one of the passes, or a pass of its
 * own) to the registry: from then on this process's `score`, `search` (as `proxy`, a fidelity or
 * an ensemble member), `scan`, correlation studies and `all` know it by name. Its scores are
 * cached under its name and `version` like a builtin's.
 *
 * Registered proxies are computed on the calling thread, not on the worker threads or queue
 * workers that compute the builtins, since those never run the script that registered them
 * (see scoring/chooseEvaluator.ts). Returns the definition.
 */
export function registerProxy<D extends ProxyDefinition<string, unknown>>(definition: D, options: RegisterProxyOptions = {}): D {
  checkDefinition(definition);
  const name = definition.name;
  const existing = registry.get(name);
  if (isBuiltinProxy(name)) throw new InputError(`proxy ${name} is a builtin mfnas proxy: give yours another name`);
  if (isSetProxyName(name) || name === 'ensemble' || name === 'all') {
    throw new InputError(`'${name}' already names ${name === 'all' ? 'every proxy' : name === 'ensemble' ? 'ensemble(a,b,...)' : 'a preset set proxy'} in proxy lists: give your proxy another name`);
  }
  if (existing && !options.replace) {
    throw new InputError(`a proxy named ${name} is already registered: give yours another name, or pass { replace: true } (with a new version) to redefine it`);
  }
  const info = definition as unknown as ProxyInfo;
  registry.set(name, info);
  byName[name] = info;
  if (existing) {
    list[list.indexOf(existing)] = info;
  } else {
    list.push(info);
    names.push(name);
  }
  return definition;
}

/** Refuses, with one line each, a definition the scorer could not use. */
function checkDefinition(d: ProxyDefinition<string, unknown>): void {
  if (typeof d !== 'object' || d === null) throw new InputError('registerProxy takes a proxy definition: write it with defineProxy({ name, version, ... })');
  const label = typeof d.name === 'string' ? quoteInput(d.name) : 'without a name';
  if (typeof d.name !== 'string' || !NAME_PATTERN.test(d.name) || d.name === 'constructor') {
    throw new InputError(`proxy name ${label} is not allowed: use a lower-case identifier [a-z][a-z0-9_]* of at most 40 characters (not 'constructor')`);
  }
  if (!Number.isSafeInteger(d.version) || d.version < 1) {
    throw new InputError(`proxy ${d.name} has version ${quoteInput(String(d.version))}: give an integer >= 1, and raise it whenever the proxy's result changes`);
  }
  if (!Number.isSafeInteger(d.minBatches) || d.minBatches < 1) {
    throw new InputError(`proxy ${d.name} has minBatches ${quoteInput(String(d.minBatches))}: give an integer >= 1 (the fewest proxy batches it is meaningful with)`);
  }
  if (typeof d.pass !== 'object' || d.pass === null || typeof d.pass.run !== 'function' || typeof d.pass.name !== 'string') {
    throw new InputError(`proxy ${d.name} has no pass: set pass to one of mfnas's passes (analyticPass, gradientPass, ...) or an object { name, run(input) }`);
  }
  if (typeof d.compute !== 'function') throw new InputError(`proxy ${d.name} has no compute(product, input) function`);
  if (typeof d.paper !== 'string' || typeof d.definition !== 'string') {
    throw new InputError(`proxy ${d.name} needs paper and definition texts (where it comes from, what it computes)`);
  }
}

/** The two fidelities of MFNAS (MFNAS.md §3), fidelity 1 first. */
export const MFNAS_FIDELITIES = ['intgrad_param', 'intgrad_mean'] as const satisfies readonly BuiltinProxyName[];

export const DEFAULT_PROXIES: readonly ProxyName[] = MFNAS_FIDELITIES;

/**
 * Set-level proxies (./aggregate.ts): computed over a set of scored architectures from
 * per-network components, never per network, so not in PROXY_NAMES and never cached per
 * network. The registered ones are named presets; `ensemble(a,b,...)` makes any other.
 */
/**
 * `az_nas_intgrad`: AZ-NAS's four components and MFNAS's intgrad_param, log-rank aggregated —
 * the best ranking of docs/ranking.md on TSS (τ 0.788 on 1,000 CIFAR-10 cells; az_nas 0.762,
 * intgrad_param 0.665), as AZ-NAS fuses its components with SynFlow (0.779 there).
 */
const azNasIntgrad = ensembleProxy([...azNas.components, 'intgrad_param'], {
  name: 'az_nas_intgrad',
  paper: 'AZ-NAS (Lee & Ham, CVPR 2024) fused with the MFNAS stable proxy (PRICAI 2024); docs/ranking.md',
  definition: 'Σ over az_expressivity, az_progressivity, az_trainability, az_complexity and intgrad_param of ln(rank/m), rank the average rank (largest = m, −∞ and NaN tied at the bottom) among the m architectures compared together: ensemble(az_nas,intgrad_param).',
});

const SET_DEFINITIONS = [azNas, azNasIntgrad] as const;

/** The name of a preset set proxy. */
export type SetProxyName = (typeof SET_DEFINITIONS)[number]['name'];
/** A set proxy: a preset or an `ensemble(...)` (its name is then the canonical ensemble text). */
export type SetProxyInfo = SetProxyDefinition<string>;
export const SET_PROXY_LIST: readonly SetProxyInfo[] = SET_DEFINITIONS;
export const SET_PROXIES: Readonly<Record<SetProxyName, SetProxyInfo>> =
  Object.fromEntries(SET_DEFINITIONS.map((d) => [d.name, d])) as Record<SetProxyName, SetProxyInfo>;

export function isSetProxyName(text: string): text is SetProxyName {
  return (SET_DEFINITIONS.map((d) => d.name) as readonly string[]).includes(text);
}

/** Whether `text` names a proxy of the registry (builtin or registered). */
export function isProxyName(text: string): text is ProxyName {
  return registry.has(text);
}

/**
 * What a search ranks by or a study correlates: a per-network proxy (by name) or a set proxy.
 * `scoreName`, `scoreComponents` and `scoreValues` treat both alike.
 */
export type ScoreSpec = ProxyName | SetProxyInfo;

/** The name a score goes by in listings, CSV columns and result.json (ensembles: `ensemble(a,b)`). */
export function scoreName(spec: ScoreSpec): string {
  return typeof spec === 'string' ? spec : spec.name;
}

/** The per-network proxies to score for `spec`. */
export function scoreComponents(spec: ScoreSpec): readonly ProxyName[] {
  return typeof spec === 'string' ? [spec] : spec.components;
}

/**
 * The value of `spec` for each of `rows`: a per-network proxy's own score (NaN where missing),
 * a set proxy's aggregate over `rows` as one set.
 */
export function scoreValues(spec: ScoreSpec, rows: readonly ProxyScores[]): number[] {
  return typeof spec === 'string' ? columnOf(rows, spec) : spec.aggregate(rows);
}

/**
 * Items of a proxy list: split at the commas outside parentheses, so that
 * `ensemble(a,b),zico` is two items. Unbalanced parentheses are an InputError.
 */
export function splitProxyItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) break;
    else if (ch === ',' && depth === 0) { items.push(text.slice(start, i)); start = i + 1; }
  }
  if (depth !== 0) throw new InputError(`unbalanced parentheses in the proxy list '${text}': write e.g. ensemble(synflow,naswot)`);
  items.push(text.slice(start));
  return items.map((s) => s.trim()).filter(Boolean);
}

// Short enough for the one-line error (the proxy names alone fill most of it).
const SCORE_CHOICES = () => `use ensemble(a,b,...), a preset (${SET_PROXY_LIST.map((d) => d.name).join(',')}) or a proxy: ${PROXY_NAMES.join(',')}`;

/**
 * One score from its text: a proxy name, a preset name, or `ensemble(a,b,...)` of proxies and
 * presets (a preset member adds its components: `ensemble(az_nas,synflow)` is AZ-NAS's four
 * components and SynFlow, log-rank aggregated together). An ensemble needs at least two
 * members and none twice.
 */
export function parseScoreSpec(text: string): ScoreSpec {
  const item = text.trim();
  // Balanced parentheses and a single item (throws otherwise).
  if (splitProxyItems(item).length > 1) throw new InputError(`'${item}' is a list: give one proxy, preset or ensemble(a,b,...) here`);
  const m = /^ensemble\s*\((.*)\)$/s.exec(item);
  if (m) {
    const members: ProxyName[] = [];
    const names: string[] = [];
    const from = new Map<ProxyName, string>(); // which member brought each component
    for (const part of splitProxyItems(m[1])) {
      const spec = parseScoreSpec(part);
      names.push(scoreName(spec));
      for (const c of scoreComponents(spec)) {
        const earlier = from.get(c);
        if (earlier !== undefined) {
          const via = [earlier, scoreName(spec)].filter((n) => n !== c);
          throw new InputError(`${c} appears twice in ${item}${via.length ? ` (${via.join(' and ')} include${via.length === 1 ? 's' : ''} it)` : ''}: name each member once`);
        }
        from.set(c, scoreName(spec));
        members.push(c);
      }
    }
    if (members.length < 2) throw new InputError(`${item} has fewer than two members: write e.g. ensemble(synflow,naswot)`);
    // Named as written (a preset member keeps its name), members flattened for the arithmetic.
    return ensembleProxy(members, { name: `ensemble(${names.join(',')})` });
  }
  if (isProxyName(item)) return item;
  if (isSetProxyName(item)) return SET_PROXIES[item];
  throw new InputError(`unknown proxy '${item}': ${SCORE_CHOICES()}`);
}

/** Comma-separated proxy names; `all` selects every proxy. Per-network proxies only. */
export function parseProxyList(text: string): ProxyName[] {
  const items = splitProxyItems(text);
  if (items.length === 1 && items[0] === 'all') return [...PROXY_NAMES];
  const out: ProxyName[] = [];
  for (const item of items) {
    if (!isProxyName(item)) {
      const spec = parseScoreSpec(item); // throws for an unknown name
      if (typeof spec !== 'string') {
        throw new InputError(`${spec.name} is a score over the whole scored set, not per architecture, and this command does not compute it: ` +
          `use --proxies ${spec.components.join(',')} (its components)`);
      }
    }
    if (!out.includes(item as ProxyName)) out.push(item as ProxyName);
  }
  if (out.length === 0) throw new InputError('no proxy given: use e.g. --proxies intgrad_param,zico');
  return out;
}

/**
 * A proxy list that may name set-level proxies (presets and `ensemble(...)`): the per-network
 * proxies to score (each set proxy's components added, after the named ones, without repeats)
 * and the set proxies to aggregate afterwards over the scored set. For commands that compare a
 * set (correlate); `all` selects every per-network proxy and every preset.
 */
export function parseProxySelection(text: string): { proxies: ProxyName[]; sets: SetProxyInfo[] } {
  const items = splitProxyItems(text);
  const all = items.length === 1 && items[0] === 'all';
  const proxies: ProxyName[] = all ? [...PROXY_NAMES] : [];
  const sets: SetProxyInfo[] = all ? [...SET_PROXY_LIST] : [];
  if (!all) {
    for (const item of items) {
      const spec = parseScoreSpec(item);
      if (typeof spec === 'string') { if (!proxies.includes(spec)) proxies.push(spec); }
      else if (!sets.some((s) => s.name === spec.name)) sets.push(spec);
    }
  }
  for (const s of sets) for (const c of s.components) if (!proxies.includes(c)) proxies.push(c);
  if (proxies.length === 0) throw new InputError('no proxy given: use e.g. --proxies intgrad_param,zico');
  return { proxies, sets };
}

/**
 * The one schema of a search's settings: what `mfnas search` accepts from its flags, what
 * `--rerun` accepts from a result.json and what the library's `search()` accepts from its
 * options. The bounds live here only, so a value refused on the command line cannot slip in
 * through a file; each caller only chooses how fields are named in messages (`--population`,
 * `settings.population`, `population`) and which error class reports them.
 */
import { MAX_IMAGE_SIZE } from '../datasets/imageFolder/index.js';
import { MFNAS_FIDELITIES, parseScoreSpec, scoreName } from '../proxies/registry.js';
import { parseSpaceName, spaceNames } from '../spaces/index.js';
import { boundProblem, integerBound, MAX_SEED, positiveBound, type NumberBound } from '../util/bounds.js';
import { escapeUnprintable, InputError, isMfnasError, type MfnasError } from '../util/errors.js';
import { ALGORITHMS, parseFidelities, parseObjectives, type Algorithm, type ScreenSettings, type SearchSettings } from './run.js';

/**
 * Every number a search takes, with its range. The upper bounds keep a search finite and its
 * memory modest: no space has more than 32,768 architectures (SSS; TSS has 15,625), so a larger
 * population or sample cannot be filled with distinct ones, and the paper's search uses a
 * population of 100, 100 steps and 4 mutations.
 */
export const SEARCH_SETTING_BOUNDS = {
  population: integerBound(2, 10_000),
  tournament: integerBound(2, 10_000),
  steps: integerBound(0, 100_000),
  mutations: integerBound(0, 1_000),
  samples: integerBound(1, 32_768),
  runs: integerBound(1, 10_000),
  seed: integerBound(0, MAX_SEED),
  dataSeed: integerBound(0, MAX_SEED),
  initSeed: integerBound(0, MAX_SEED),
  /** Images per proxy batch, and batches: the proxy input (and a screen's) is held in memory. */
  batch: integerBound(1, 4_096),
  batches: integerBound(1, 1_000),
  imageSize: integerBound(8, MAX_IMAGE_SIZE),
  /** A screen's image side. */
  resolution: integerBound(1, MAX_IMAGE_SIZE),
  /** A screened search: candidates rescored on the full input. */
  confirm: integerBound(1, 10_000),
  /** Minutes per run: at most a year. */
  timeBudget: positiveBound(525_600),
  /** Millions of FLOPs, and parameters: any positive limit (one above every architecture is no limit). */
  maxFlops: positiveBound(),
  maxParams: positiveBound(),
} as const satisfies Record<string, NumberBound>;

export { MAX_SEED };

type BoundName = keyof typeof SEARCH_SETTING_BOUNDS;

/** A number of the settings, a screen's by its path (`screen.batch`). */
export type NumericSetting = Exclude<BoundName, 'resolution' | 'confirm'> | 'screen.batches' | 'screen.batch' | 'screen.resolution' | 'screen.confirm';

/** A field of the settings, as messages name it. */
export type SettingField = NumericSetting | 'space' | 'dataset' | 'algorithm' | 'proxy' | 'fidelities' | 'screen' | 'objectives' | 'skipBad';

function boundOf(field: NumericSetting): NumberBound {
  const key = field.replace(/^screen\./, '') as BoundName;
  return SEARCH_SETTING_BOUNDS[key];
}

/** How the caller's fields are named in messages, and what it throws. */
export interface SettingNames {
  name(field: SettingField): string;
  error(message: string): MfnasError;
  /**
   * A parser's own message (`unknown proxy 'x'`) is kept: it already names the flag or option
   * and says more than the generic "must be a proxy". Not for a file, whose fields have no flag.
   */
  readonly keepParserMessages: boolean;
}

const SCREEN_FLAG: Partial<Record<SettingField, string>> = {
  'screen.batches': '--screen BATCHES', 'screen.batch': '--screen SIZE', 'screen.resolution': '--screen PIXELS', 'screen.confirm': '--confirm',
};

/** `mfnas search`'s flags: `--population`, `--data-seed`, `--screen SIZE`. */
export const FLAG_NAMES: SettingNames = {
  name: (f) => SCREEN_FLAG[f] ?? `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  error: (m) => new InputError(m),
  keepParserMessages: true,
};

/** The library's `search()` options: `population`, `confirm`, `screen batch`. */
export const OPTION_NAMES: SettingNames = {
  name: (f) => (f === 'screen.confirm' ? 'confirm' : f.replace('.', ' ')),
  error: (m) => new InputError(m),
  keepParserMessages: true,
};

/** A value read from a file or given to the library, as a message shows it: JSON, short and escaped. */
export function shownValue(v: unknown): string {
  const text = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return escapeUnprintable(text.length <= 40 ? text : `${text.slice(0, 40)}… (${text.length.toLocaleString('en-US')} characters)`);
}

function checkNumber(field: NumericSetting, v: unknown, names: SettingNames): number {
  const problem = boundProblem(boundOf(field), v);
  if (problem !== null) throw names.error(`${names.name(field)} ${problem}, got ${shownValue(v)}`);
  return v as number;
}

/**
 * Checks the numbers given (undefined ones are skipped), and the rules between them: the
 * tournament is drawn from the population, and the runs' seeds seed, seed+1, … stay seeds.
 */
export function checkSearchNumbers(values: Partial<Record<NumericSetting, unknown>>, names: SettingNames): void {
  for (const [field, v] of Object.entries(values) as Array<[NumericSetting, unknown]>) {
    if (v !== undefined) checkNumber(field, v, names);
  }
  const { population, tournament, seed, runs } = values as Partial<Record<NumericSetting, number>>;
  if (population !== undefined && tournament !== undefined && tournament > population) {
    throw names.error(`${names.name('tournament')} (${tournament}) cannot exceed ${names.name('population')} (${population})`);
  }
  if (seed !== undefined && runs !== undefined && seed + runs - 1 > MAX_SEED) {
    throw names.error(`${names.name('runs')} ${runs} from ${names.name('seed')} ${seed} goes past the largest seed ${MAX_SEED}; ` +
      `lower ${names.name('seed')} or ${names.name('runs')}`);
  }
}

/** A screen's numbers under their paths, for `checkSearchNumbers`. */
export function screenNumbers(s: Partial<Record<keyof ScreenSettings, unknown>>): Partial<Record<NumericSetting, unknown>> {
  return { 'screen.batches': s.batches, 'screen.batch': s.batch, 'screen.resolution': s.resolution ?? undefined, 'screen.confirm': s.confirm };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a whole record of settings (the `settings` of a result.json, or the flags gathered in
 * that shape) and returns them normalised (proxy and fidelity names canonical). Fields that
 * result.json files of earlier versions lack take the values those versions used.
 */
export function checkSearchSettings(s: Readonly<Record<string, unknown>>, names: SettingNames): SearchSettings {
  const invalid = (field: SettingField, what: string) => names.error(`${names.name(field)} ${what}, got ${shownValue(s[field])}`);
  const parsed = <T>(field: SettingField, what: string, value: unknown, parse: () => T): T => {
    try {
      return parse();
    } catch (e) {
      if (names.keepParserMessages && isMfnasError(e)) throw e;
      throw names.error(`${names.name(field)} ${what}, got ${shownValue(value)}`);
    }
  };
  const text = (field: SettingField, max: number, what: string): string => {
    const v = s[field];
    if (typeof v !== 'string' || v.trim() === '' || v.length > max || CONTROL.test(v)) throw invalid(field, what);
    return v;
  };
  const absent = (field: string) => s[field] === undefined || s[field] === null;

  const spaceWhat = `must be one of ${spaceNames().join(', ')}`;
  const space = parsed('space', spaceWhat, s.space, () => parseSpaceName(text('space', 40, spaceWhat)));
  const dataset = text('dataset', 4096, 'must be cifar10, cifar100, ImageNet16-120 or an image folder path');
  if (!ALGORITHMS.includes(s.algorithm as Algorithm)) throw invalid('algorithm', `must be ${ALGORITHMS.join(', ')}`);
  const algorithm = s.algorithm as Algorithm;
  const proxyWhat = 'must be a proxy, a preset or ensemble(a,b,...)';
  const proxy = parsed('proxy', proxyWhat, s.proxy, () => scoreName(parseScoreSpec(text('proxy', 400, proxyWhat))));
  const fidelitiesWhat = 'must be a list of different proxies, fidelity 1 first';
  const fidelities = absent('fidelities') ? [...MFNAS_FIDELITIES] : parsed('fidelities', fidelitiesWhat, s.fidelities, () => {
    const items = s.fidelities;
    if (!Array.isArray(items) || items.length > 16 || !items.every((f) => typeof f === 'string' && f.length <= 400 && !CONTROL.test(f))) {
      throw invalid('fidelities', fidelitiesWhat);
    }
    return parseFidelities(items as string[]).map(scoreName);
  });
  const screen = absent('screen') ? null : checkScreen(s.screen, names);
  if (screen && algorithm !== 'mfnas') {
    throw names.error(`${names.name('screen')} is for ${names.name('algorithm')} mfnas; ${algorithm} scores every candidate on one input`);
  }
  const objectivesWhat = 'must be proxy,flops or proxy,params';
  const objectives = absent('objectives') ? null
    : `proxy,${parsed('objectives', objectivesWhat, s.objectives, () => parseObjectives(text('objectives', 40, objectivesWhat)))}`;
  if (s.skipBad !== undefined && typeof s.skipBad !== 'boolean') throw invalid('skipBad', 'must be true or false');

  const required = ['population', 'tournament', 'steps', 'mutations', 'samples', 'seed', 'runs', 'batch', 'batches', 'dataSeed', 'initSeed'] as const;
  const optional = ['maxFlops', 'maxParams', 'timeBudget', 'imageSize'] as const;
  const numbers: Partial<Record<NumericSetting, unknown>> = {};
  // A required number that is missing is reported as such (undefined would be skipped).
  for (const f of required) numbers[f] = s[f] === undefined ? null : s[f];
  for (const f of optional) numbers[f] = absent(f) ? undefined : s[f];
  checkSearchNumbers(numbers, names);
  const num = (f: (typeof required)[number]) => s[f] as number;
  const opt = (f: (typeof optional)[number]) => (absent(f) ? null : s[f] as number);
  return {
    space, dataset, algorithm, population: num('population'), tournament: num('tournament'), steps: num('steps'), mutations: num('mutations'),
    samples: num('samples'), proxy, fidelities, screen, objectives, maxFlops: opt('maxFlops'), maxParams: opt('maxParams'), seed: num('seed'),
    runs: num('runs'), timeBudget: opt('timeBudget'), batch: num('batch'), batches: num('batches'), dataSeed: num('dataSeed'),
    initSeed: num('initSeed'), imageSize: opt('imageSize'), skipBad: s.skipBad === true,
  };
}

function checkScreen(v: unknown, names: SettingNames): ScreenSettings {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw names.error(`${names.name('screen')} must be null or {batches, batch, resolution, confirm}, got ${shownValue(v)}`);
  }
  const r = v as Record<string, unknown>;
  const numbers = screenNumbers(r);
  // Required, so reported when missing; resolution may be null (the dataset's own).
  for (const f of ['screen.batches', 'screen.batch', 'screen.confirm'] as const) if (numbers[f] === undefined) numbers[f] = null;
  checkSearchNumbers(numbers, names);
  return { batches: r.batches as number, batch: r.batch as number, resolution: (r.resolution ?? null) as number | null, confirm: r.confirm as number };
}

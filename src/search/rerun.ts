/**
 * `mfnas search --rerun RUN/result.json`: the settings a search recorded, read back and checked,
 * and the comparison of a rerun's answers with the recorded ones.
 */
import { readFileSync } from 'node:fs';
import { MFNAS_FIDELITIES, parseScoreSpec, scoreName } from '../proxies/registry.js';
import { parseSpaceName } from '../spaces/index.js';
import { DataError, quotePath } from '../util/errors.js';
import { ALGORITHMS, parseScreenInput, screenInputText, parseFidelities, parseObjectives, type SearchEnvironment, type SearchSettings } from './run.js';

export interface RecordedSearch {
  settings: SearchSettings;
  environment: Partial<SearchEnvironment>;
  answers: Array<{ seed: number; arch: string }>;
}

/** Reads a search's result.json; a file that is not one (or from before settings were recorded) is a DataError. */
export function readRecordedSearch(file: string): RecordedSearch {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(`--rerun: cannot read ${quotePath(file)} (${(e as NodeJS.ErrnoException).code ?? String(e)}); give the result.json of a search`);
  }
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataError(`--rerun: ${quotePath(file)} is not JSON; give the result.json that \`mfnas search --out DIR\` wrote`);
  }
  const s = json?.settings;
  if (!s || typeof s !== 'object') {
    throw new DataError(`--rerun: ${quotePath(file)} records no settings (not a search result, or one written by an earlier mfnas); run the search again with its flags`);
  }
  const bad = (field: string) => new DataError(`--rerun: ${quotePath(file)} has an invalid settings.${field}; the file was edited or damaged`);
  const int = (field: keyof SearchSettings, min: number) => {
    const v = s[field];
    if (!Number.isSafeInteger(v) || v < min) throw bad(field);
    return v as number;
  };
  const num = (field: keyof SearchSettings) => {
    const v = s[field];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw bad(field);
    return v;
  };
  try { parseSpaceName(String(s.space)); } catch { throw bad('space'); }
  if (typeof s.dataset !== 'string' || s.dataset === '') throw bad('dataset');
  if (!ALGORITHMS.includes(s.algorithm)) throw bad('algorithm');
  let proxy: string;
  try { proxy = scoreName(parseScoreSpec(String(s.proxy))); } catch { throw bad('proxy'); }
  // Written before fidelities were choosable: the paper's.
  let fidelities: string[] = [...MFNAS_FIDELITIES];
  if (s.fidelities !== undefined) {
    if (!Array.isArray(s.fidelities) || !s.fidelities.every((f: unknown) => typeof f === 'string')) throw bad('fidelities');
    try { fidelities = parseFidelities(s.fidelities).map(scoreName); } catch { throw bad('fidelities'); }
  }
  let screen: SearchSettings['screen'] = null;
  if (s.screen !== null && s.screen !== undefined) {
    const r = s.screen;
    try { screen = parseScreenInput(screenInputText({ ...r, resolution: r.resolution ?? null }), r.confirm); } catch { throw bad('screen'); }
  }
  if (s.objectives !== null && s.objectives !== undefined) {
    try { parseObjectives(String(s.objectives)); } catch { throw bad('objectives'); }
  }
  const settings: SearchSettings = {
    space: parseSpaceName(String(s.space)), dataset: s.dataset, algorithm: s.algorithm, population: int('population', 2),
    tournament: int('tournament', 2), steps: int('steps', 0), mutations: int('mutations', 0), samples: int('samples', 1), proxy, fidelities, screen,
    objectives: s.objectives ?? null, maxFlops: num('maxFlops'), maxParams: num('maxParams'), seed: int('seed', 0), runs: int('runs', 1),
    timeBudget: num('timeBudget'), batch: int('batch', 1), batches: int('batches', 1), dataSeed: int('dataSeed', 0), initSeed: int('initSeed', 0),
    imageSize: s.imageSize === null || s.imageSize === undefined ? null : int('imageSize', 8), skipBad: s.skipBad === true,
  };
  const answers = Array.isArray(json.runs)
    ? json.runs.filter((r: any) => Number.isSafeInteger(r?.seed) && typeof r?.best?.arch === 'string').map((r: any) => ({ seed: r.seed, arch: r.best.arch }))
    : [];
  return { settings, environment: typeof json.environment === 'object' && json.environment ? json.environment : {}, answers };
}

/** One line on how a rerun compares with the recorded run (answers, and what may explain a difference). */
export function compareRerun(recorded: RecordedSearch, answers: ReadonlyArray<{ seed: number; arch: string }>, env: SearchEnvironment): { same: boolean; line: string } {
  const was = new Map(recorded.answers.map((a) => [a.seed, a.arch]));
  const differ = answers.filter((a) => was.has(a.seed) && was.get(a.seed) !== a.arch).map((a) => a.seed);
  const causes: string[] = [];
  if (recorded.environment.dataFingerprint && recorded.environment.dataFingerprint !== env.dataFingerprint) {
    causes.push(`the proxy batches differ (data fingerprint ${env.dataFingerprint}, recorded ${recorded.environment.dataFingerprint})`);
  }
  if (recorded.environment.engine && recorded.environment.engine !== env.engine) causes.push(`engine ${env.engine}, recorded ${recorded.environment.engine}`);
  if (recorded.settings.timeBudget !== null) causes.push('a time budget stops runs after a wall-clock time');
  if (differ.length === 0) {
    return { same: true, line: `rerun: the same answer${answers.length > 1 ? 's' : ''} as recorded${causes.length ? ` (note: ${causes.join('; ')})` : ''}` };
  }
  return {
    same: false,
    line: `rerun: the answer differs from the recorded one for seed${differ.length > 1 ? 's' : ''} ${differ.join(', ')}` +
      `${causes.length ? ` — ${causes.join('; ')}` : ' although data and engine match'}`,
  };
}

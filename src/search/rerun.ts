/**
 * `mfnas search --rerun RUN/result.json`: the settings a search recorded, read back and checked,
 * and the comparison of a rerun's answers with the recorded ones.
 */
import { spaceByName } from '../spaces/index.js';
import { DataError, quotePath } from '../util/errors.js';
import { readRegularFileSync } from '../util/regularFile.js';
import type { SearchEnvironment, SearchSettings } from './run.js';
import { checkSearchSettings, shownValue, type SettingNames } from './settings.js';

export interface RecordedSearch {
  settings: SearchSettings;
  environment: Partial<Pick<SearchEnvironment, 'dataFingerprint' | 'engine'>>;
  answers: Array<{ seed: number; arch: string }>;
}

/** A result.json of 10,000 runs with Pareto sets stays far below this; a larger file is not one. */
const MAX_RESULT_BYTES = 256 * 1024 * 1024;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of a result.json are named by their path in it; any problem is the file's (DataError). */
function recordedNames(file: string): SettingNames {
  return {
    name: (f) => `settings.${f}`,
    error: (m) => recordedError(file, m),
    keepParserMessages: false,
  };
}

function recordedError(file: string, message: string): DataError {
  // The field first: a long path is what gets cut from a capped line.
  return new DataError(`--rerun: ${message} in ${quotePath(file)}; the file was edited or damaged: run the search again with its flags`);
}

/**
 * Reads a search's result.json and checks everything later used from it before any work: the
 * settings against the schema the command line uses (src/search/settings.ts), the recorded
 * answers against those settings, and the environment fields the comparison prints. Anything
 * else is a one-line DataError naming the file and the field.
 */
export function readRecordedSearch(file: string): RecordedSearch {
  const bytes = readRegularFileSync(file, {
    what: '--rerun: the search result', hint: 'give the result.json that `mfnas search --out DIR` wrote', maxBytes: MAX_RESULT_BYTES,
  });
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DataError(`--rerun: ${quotePath(file)} is not JSON; give the result.json that \`mfnas search --out DIR\` wrote`);
  }
  if (!isRecord(json) || !isRecord(json.settings)) {
    throw new DataError(`--rerun: ${quotePath(file)} records no settings (not a search result, or one written by an earlier mfnas); run the search again with its flags`);
  }
  const settings = checkSearchSettings(json.settings, recordedNames(file));
  return { settings, answers: recordedAnswers(file, json.runs, settings), environment: recordedEnvironment(file, json.environment) };
}

/** One {seed, best: {arch}} per run, seeds seed, seed+1, … in order, each answer an architecture of the space. */
function recordedAnswers(file: string, runs: unknown, s: SearchSettings): RecordedSearch['answers'] {
  if (!Array.isArray(runs) || runs.length !== s.runs) {
    const what = Array.isArray(runs) ? `${runs.length} record${runs.length === 1 ? '' : 's'}` : shownValue(runs);
    throw recordedError(file, `runs must be an array of ${s.runs} run record${s.runs === 1 ? '' : 's'} {seed, best: {arch}} (settings.runs), got ${what}`);
  }
  const space = spaceByName(s.space);
  return runs.map((r: unknown, i) => {
    const seed = s.seed + i;
    if (!isRecord(r) || r.seed !== seed) {
      throw recordedError(file, `runs[${i}].seed must be ${seed} (settings.seed + ${i}), got ${shownValue(isRecord(r) ? r.seed : r)}`);
    }
    const arch = isRecord(r.best) ? r.best.arch : undefined;
    let known = false;
    if (typeof arch === 'string' && arch.length <= 200) {
      try { space.parse(arch); known = true; } catch { /* reported below */ }
    }
    if (!known) throw recordedError(file, `runs[${i}].best.arch must be a ${s.space} architecture, got ${shownValue(arch)}`);
    return { seed, arch: arch as string };
  });
}

/** The environment fields the comparison reads (and prints): hex fingerprint, printable engine key. */
function recordedEnvironment(file: string, env: unknown): RecordedSearch['environment'] {
  if (env === undefined) return {};
  if (!isRecord(env)) throw recordedError(file, `environment must be an object, got ${shownValue(env)}`);
  const out: RecordedSearch['environment'] = {};
  if (env.dataFingerprint !== undefined) {
    if (typeof env.dataFingerprint !== 'string' || !/^[0-9a-f]{8,64}$/.test(env.dataFingerprint)) {
      throw recordedError(file, `environment.dataFingerprint must be hexadecimal digits, got ${shownValue(env.dataFingerprint)}`);
    }
    out.dataFingerprint = env.dataFingerprint;
  }
  if (env.engine !== undefined) {
    if (typeof env.engine !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(env.engine)) {
      throw recordedError(file, `environment.engine must be an engine key such as native:2:tfjs-4.22.0, got ${shownValue(env.engine)}`);
    }
    out.engine = env.engine;
  }
  return out;
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

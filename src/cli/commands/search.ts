import path from 'node:path';
import { Option, type Command } from 'commander';
import { openDefaultNatsBenchTables } from '../../natsbench/tables.js';
import { searchOutputNames, writeSearchOutputs } from '../../report/searchReport.js';
import { MFNAS_FIDELITIES, splitProxyItems } from '../../proxies/registry.js';
import { parseQueueUrl } from '../../queue/connection.js';
import { compareRerun, readRecordedSearch } from '../../search/rerun.js';
import {
  ALGORITHMS, parseObjectives, runSearch, SEARCH_DEFAULTS, searchScoreName, type Algorithm, type CostObjective, type SearchResult, DEFAULT_CONFIRM, parseScreenInput, screenInputOptions, screenInputText, screenLabel,
} from '../../search/run.js';
import { checkSearchSettings, FLAG_NAMES, SEARCH_SETTING_BOUNDS } from '../../search/settings.js';
import { checkOutputDir } from '../../util/atomicWrite.js';
import { InputError, quoteInput } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { fmtAccuracy, fmtMillions, fmtParamsM, fmtScore, fmtSeconds, plural, table } from '../format.js';
import {
  addDatasetOptions, parseBoundedFlag, plainText, printResult, proxyListText, resolveDatasetFlags, spaceOption, type DatasetFlags, type GlobalOptions,
} from '../options.js';
import { addScoringOptions, openScoring, type ScoringFlags } from '../scoring.js';
import type { SpaceName } from '../../spaces/types.js';
import { queueOption } from './worker.js';

interface SearchFlags extends ScoringFlags, DatasetFlags {
  space: SpaceName; algorithm: Algorithm; population: number; tournament: number; steps: number;
  mutations: number; samples: number; proxy: string; fidelities: string; screen?: string; confirm: number; maxFlops?: number; maxParams?: number; runs: number;
  timeBudget?: number; objectives?: CostObjective; out?: string; json?: boolean; rerun?: string;
}

/** Flags that may go with --rerun: they change where results go and how fast, never the results. */
const RERUN_COMPATIBLE = new Set(['rerun', 'out', 'json', 'cache', 'workers']);

/** A search flag whose range is the schema's (src/search/settings.ts), stated in --help. */
function settingOption(flags: string, description: string, field: keyof typeof SEARCH_SETTING_BOUNDS): Option {
  const b = SEARCH_SETTING_BOUNDS[field];
  const range = b.integer ? `${b.min} to ${b.max}` : b.max < Infinity ? `at most ${b.max}` : '';
  return new Option(flags, range ? `${description} (${range})` : description).argParser(parseBoundedFlag(flags.slice(2, flags.indexOf(' ')), b));
}

/** The flags in the shape of recorded settings, for the schema's check. */
function flagSettings(opts: SearchFlags): Record<string, unknown> {
  return {
    space: opts.space, dataset: opts.dataset, algorithm: opts.algorithm, population: opts.population, tournament: opts.tournament,
    steps: opts.steps, mutations: opts.mutations, samples: opts.samples, proxy: opts.proxy, fidelities: splitProxyItems(opts.fidelities),
    screen: opts.screen !== undefined ? parseScreenInput(opts.screen, opts.confirm) : null,
    objectives: opts.objectives ? `proxy,${opts.objectives}` : null, maxFlops: opts.maxFlops, maxParams: opts.maxParams,
    seed: opts.seed, runs: opts.runs, timeBudget: opts.timeBudget, batch: opts.batch, batches: opts.batches,
    // Unset, the proxy batches and weights use seed 0 (see `seeds` in the action).
    dataSeed: opts.dataSeed ?? 0, initSeed: opts.initSeed ?? 0, imageSize: opts.imageSize, skipBad: !!opts.skipBad,
  };
}

/** `mfnas search` without --json: the runs as a table, the answers, and with --objectives the Pareto sets. */
export function formatSearchResult(result: SearchResult, out?: string): string {
  const s = result.settings;
  const lines: string[] = [];
  const what = s.algorithm === 'random' ? `${s.samples} samples by ${s.proxy}`
    : `population ${s.population}, tournament ${s.tournament}, ${plural(s.steps, 'step')}${s.algorithm === 'mfnas' ? `, ${plural(s.mutations, 'mutation')} per parent` : `, by ${s.proxy}`}`;
  const fidelities = s.fidelities ?? MFNAS_FIDELITIES;
  const nonDefault = s.algorithm === 'mfnas' && fidelities.join(',') !== MFNAS_FIDELITIES.join(',');
  const limits = [s.maxFlops !== null ? `≤ ${s.maxFlops} M FLOPs` : '', s.maxParams !== null ? `≤ ${s.maxParams} params` : ''].filter(Boolean).join(', ');
  const screen = s.screen ? ` · screened on ${screenLabel(s.screen)} images, best ${s.screen.confirm} confirmed` : '';
  lines.push(`${s.algorithm.toUpperCase()} search on ${s.space.toUpperCase()} / ${s.dataset} · ${what}${nonDefault ? ` · fidelities ${fidelities.join(' + ')}` : ''}${screen}${limits ? ` · ${limits}` : ''} · ` +
    `${s.batches} × ${s.batch} images · ${plural(result.runs.length, 'run')}`);
  lines.push('');
  lines.push(table(['seed', 'index', 'accuracy %', 'params M', 'FLOPs M', 'scored', 'seconds', 'answer'],
    result.runs.map((r) => [String(r.seed), r.best.index === null ? '–' : String(r.best.index), fmtAccuracy(r.best.accuracy),
      fmtParamsM(r.best.params), fmtMillions(r.best.flops), String(r.evaluated), fmtSeconds(r.seconds) + (r.stoppedEarly ? '*' : ''), r.best.arch])).trimEnd());
  const notes: string[] = [];
  if (result.runs.some((r) => r.stoppedEarly)) notes.push('* stopped by the time budget');
  if (s.screen) notes.push(`scored = on the screen's input; the answer is the best of the ${s.screen.confirm} confirmed on ${s.batches} × ${s.batch} images`);
  if (result.summary.accuracyMean !== null && result.runs.length > 1) {
    notes.push(`mean accuracy ${fmtAccuracy(result.summary.accuracyMean)} ± ${fmtAccuracy(result.summary.accuracyStd)} %`);
  }
  if (result.spaceBest) notes.push(`best in the space ${fmtAccuracy(result.spaceBest.accuracy)} % (index ${result.spaceBest.index})`);
  if (result.folder) notes.push('an image folder has no benchmark accuracies');
  notes.push(`mean time ${fmtSeconds(result.summary.secondsMean)} s per run`);
  lines.push(notes.join(' · '));
  const objective = s.objectives?.split(',').find((o) => o !== 'proxy');
  for (const r of result.runs) {
    if (!r.pareto) continue;
    lines.push('');
    lines.push(`Pareto set of seed ${r.seed}: ${plural(r.pareto.length, 'architecture')} trading ${searchScoreName(s.algorithm, s.proxy)} against ${objective === 'flops' ? 'FLOPs' : 'parameters'}, cheapest first`);
    lines.push(table(['#', 'index', 'accuracy %', 'params M', 'FLOPs M', searchScoreName(s.algorithm, s.proxy), 'arch'],
      r.pareto.map((a, i) => [String(i + 1), a.index === null ? '–' : String(a.index), fmtAccuracy(a.accuracy), fmtParamsM(a.params),
        fmtMillions(a.flops), fmtScore(a.score), a.arch])).trimEnd());
  }
  if (out) {
    lines.push('');
    lines.push(`wrote ${path.join(out, 'report.html')} (with result.json, pareto.csv and the per-seed CSVs beside it)`);
  }
  return lines.join('\n') + '\n';
}

export function registerSearchCommand(program: Command): void {
  const d = SEARCH_DEFAULTS;
  const cmd = program
    .command('search')
    .description('find a high-accuracy architecture without training (MFNAS, or the REA / random baselines)')
    .addOption(spaceOption());
  addDatasetOptions(cmd)
    .addOption(new Option('--algorithm <name>', 'mfnas, rea or random').default(d.algorithm).choices(ALGORITHMS as string[]))
    .addOption(settingOption('--population <n>', 'population size N', 'population').default(d.population))
    .addOption(settingOption('--tournament <n>', 'tournament size n', 'tournament').default(d.tournament))
    .addOption(settingOption('--steps <t>', 'evolution steps T', 'steps').default(d.steps))
    .addOption(settingOption('--mutations <p>', 'mutations per parent P', 'mutations').default(d.mutations))
    .addOption(settingOption('--samples <k>', 'random search: architectures sampled', 'samples').default(d.samples))
    .addOption(new Option('--proxy <name>', 'baselines: the proxy they rank by (a proxy, a preset such as az_nas, or ensemble(a,b,...))').default(d.proxy)
      .argParser(plainText('--proxy', 400, 'a proxy name (see --help)')))
    .addOption(new Option('--fidelities <a,b>', 'MFNAS: the fidelities its rank combines, fidelity 1 first (each a proxy, a preset or ensemble(...))')
      .default(d.fidelities.join(',')).argParser(proxyListText('--fidelities')))
    .addOption(new Option('--screen <BxS[@px]>', 'MFNAS, multi-fidelity in cost: score candidates on this cheaper proxy input (e.g. 2x32, 2x64@16), then the --confirm best on the full one')
      .argParser((text: string) => { parseScreenInput(text); return text; }))
    .addOption(settingOption('--confirm <k>', 'with --screen: candidates rescored on the full input, the answer chosen among them', 'confirm')
      .default(DEFAULT_CONFIRM))
    .addOption(settingOption('--max-flops <mflops>', 'limit: millions of FLOPs', 'maxFlops'))
    .addOption(settingOption('--max-params <n>', 'limit: parameters', 'maxParams'))
    .addOption(new Option('--objectives <list>', 'proxy,flops or proxy,params: also return the Pareto set of the search history (score against cost)')
      .argParser((t) => parseObjectives(plainText('--objectives', 40, 'a list of objectives: use proxy,flops or proxy,params')(t))))
    .addOption(settingOption('--runs <r>', 'independent runs with seeds seed, seed+1, …', 'runs').default(d.runs))
    .addOption(settingOption('--time-budget <minutes>', 'stop each run cleanly after this long and report the best so far', 'timeBudget'))
    .option('--out <dir>', 'write result.json, pareto.csv, per-step history CSVs and report.html (checked before the search starts)')
    .addOption(new Option('--rerun <result.json>', 'repeat the search recorded in a result.json (every setting from it; --out, --cache, --workers, --json may be given)')
      .argParser(plainText('--rerun', 4096, 'a file path')))
    .option('--json', 'print one JSON object')
    .addOption(queueOption());
  addScoringOptions(cmd);
  cmd.action(async (opts: SearchFlags, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    const recorded = opts.rerun !== undefined ? readRecordedSearch(opts.rerun) : null;
    if (recorded) {
      const clash = c.options.find((o) => !RERUN_COMPATIBLE.has(o.attributeName()) && c.getOptionValueSource(o.attributeName()) === 'cli');
      if (clash) {
        throw new InputError(`${clash.long} cannot be combined with --rerun, which takes every setting from ${quoteInput(opts.rerun!, { tail: true })}; ` +
          'drop it, or run a new search with all its flags');
      }
      const r = recorded.settings;
      Object.assign(opts, {
        space: r.space, dataset: r.dataset, imageSize: r.imageSize ?? undefined, skipBad: r.skipBad, algorithm: r.algorithm,
        population: r.population, tournament: r.tournament, steps: r.steps, mutations: r.mutations, samples: r.samples, proxy: r.proxy,
        fidelities: r.fidelities.join(','), screen: r.screen ? screenInputText(r.screen) : undefined,
        confirm: r.screen?.confirm ?? DEFAULT_CONFIRM,
        maxFlops: r.maxFlops ?? undefined, maxParams: r.maxParams ?? undefined, runs: r.runs, timeBudget: r.timeBudget ?? undefined,
        objectives: r.objectives ? parseObjectives(r.objectives) : undefined, seed: r.seed, batch: r.batch, batches: r.batches,
        dataSeed: r.dataSeed, initSeed: r.initSeed,
      } satisfies Partial<SearchFlags>);
    }
    // One schema for flags and recorded settings (src/search/settings.ts); a recorded search
    // has passed it already, with its fields named as in the file.
    const settings = recorded?.settings ?? checkSearchSettings(flagSettings(opts), FLAG_NAMES);
    if (opts.algorithm !== 'mfnas' && c.getOptionValueSource('fidelities') === 'cli') {
      throw new InputError(`--fidelities is for --algorithm mfnas; ${opts.algorithm} ranks by --proxy alone (a proxy, a preset or ensemble(a,b,...))`);
    }
    const screen = settings.screen ?? undefined;
    if (screen && opts.queue) throw new InputError('--screen cannot be combined with --queue yet: queue workers score on the full input only; drop one of them');
    if (!screen && c.getOptionValueSource('confirm') === 'cli') throw new InputError('--confirm goes with --screen: add --screen BxS[@px], e.g. --screen 2x32');
    // A bad URL is reported now, not after the data is read.
    if (opts.queue !== undefined) parseQueueUrl(opts.queue);
    if (opts.out !== undefined) {
      checkOutputDir(opts.out, '--out', searchOutputNames(Array.from({ length: opts.runs }, (_, r) => opts.seed + r)));
    }
    const benchmark = openDefaultNatsBenchTables(globals.dataDir);
    const dataset = await resolveDatasetFlags(opts);
    // Counted in steps (mfnas, rea: step 0 scores the initial population) or, for random
    // search, in architectures sampled; a run stopped by --time-budget skips its remaining ones.
    const byArchs = opts.algorithm === 'random';
    const perRun = byArchs ? opts.samples : opts.steps + 1;
    const progress = new Progress('search', { itemName: byArchs ? 'archs' : 'steps' });
    // The search seed varies per run; the proxy batches and weights stay fixed (0 unless given),
    // so every run scores an architecture identically and shares the cache.
    const seeds = { dataSeed: 0, initSeed: 0 };
    // Screened: the candidates on the cheap input (the worker pool), the confirmations on the
    // full one, on this thread with every core, sharing the cache.
    const session = await openScoring(opts.space, dataset, opts, globals,
      screen ? screenInputOptions(screen) : {}, seeds);
    let confirmSession: Awaited<ReturnType<typeof openScoring>> | null = null;
    try {
      if (screen) confirmSession = await openScoring(opts.space, dataset, opts, globals, { cache: session.cache ?? false, workers: 1 }, seeds);
      const { result, details } = await runSearch({
        scorer: session.scorer, benchmark, ...(confirmSession ? { confirmScorer: confirmSession.scorer } : {}),
        options: {
          algorithm: opts.algorithm, population: opts.population, tournament: opts.tournament, steps: opts.steps,
          mutations: opts.mutations, samples: opts.samples, proxy: settings.proxy, fidelities: settings.fidelities, seed: opts.seed, runs: opts.runs,
          timeBudget: opts.timeBudget, limits: { maxFlops: opts.maxFlops, maxParams: opts.maxParams }, objective: opts.objectives,
          ...(screen ? { screen } : {}),
        },
        hooks: {
          onStep: (seed, rec, acc) => progress.update(
            (seed - opts.seed) * perRun + (byArchs ? rec.evaluated : rec.step + 1), opts.runs * perRun,
            `seed ${seed} step ${rec.step} · ${rec.evaluated} scored${acc !== null ? ` · answer ${acc.toFixed(2)}%` : ''}`,
          ),
        },
      });
      progress.finish(); // a run cut short by --time-budget leaves the bar short of its total
      if (opts.out) writeSearchOutputs(opts.out, result, details);
      if (recorded) {
        process.stderr.write(`mfnas: ${compareRerun(recorded, result.runs.map((r) => ({ seed: r.seed, arch: r.best.arch })), result.environment).line}\n`);
      }
      if (opts.json) printResult(result, true);
      else process.stdout.write(formatSearchResult(result, opts.out));
    } finally {
      progress.finish();
      await confirmSession?.close();
      await session.close();
    }
  });
}

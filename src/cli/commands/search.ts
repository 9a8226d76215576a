import { Option, type Command } from 'commander';
import { openDefaultBenchmark } from '../../report/archInfo.js';
import { searchOutputNames, writeSearchOutputs } from '../../report/searchReport.js';
import { isProxyName } from '../../proxies/registry.js';
import { ALGORITHMS, runSearch, SEARCH_DEFAULTS, type Algorithm } from '../../search/run.js';
import { checkOutputDir } from '../../util/atomicWrite.js';
import { InputError, quoteInput } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { datasetOption, MAX_SEED, parseIntFlag, parseNumberFlag, printResult, spaceOption, type GlobalOptions } from '../options.js';
import { addScoringOptions, openScoring, type ScoringFlags } from '../scoring.js';

interface SearchFlags extends ScoringFlags {
  space: 'tss' | 'sss'; dataset: any; algorithm: Algorithm; population: number; tournament: number; steps: number;
  mutations: number; samples: number; proxy: string; maxFlops?: number; maxParams?: number; runs: number;
  timeBudget?: number; out?: string; json?: boolean;
}

export function registerSearchCommand(program: Command): void {
  const d = SEARCH_DEFAULTS;
  const cmd = program
    .command('search')
    .description('find a high-accuracy architecture without training (MFNAS, or the REA / random baselines)')
    .addOption(spaceOption())
    .addOption(datasetOption())
    .addOption(new Option('--algorithm <name>', 'mfnas, rea or random').default(d.algorithm).choices(ALGORITHMS as string[]))
    .addOption(new Option('--population <n>', 'population size N').default(d.population).argParser(parseIntFlag('population', { min: 2 })))
    .addOption(new Option('--tournament <n>', 'tournament size n').default(d.tournament).argParser(parseIntFlag('tournament', { min: 2 })))
    .addOption(new Option('--steps <t>', 'evolution steps T').default(d.steps).argParser(parseIntFlag('steps', { min: 0 })))
    .addOption(new Option('--mutations <p>', 'mutations per parent P').default(d.mutations).argParser(parseIntFlag('mutations', { min: 0 })))
    .addOption(new Option('--samples <k>', 'random search: architectures sampled').default(d.samples).argParser(parseIntFlag('samples', { min: 1 })))
    .option('--proxy <name>', 'baselines: the proxy they rank by', d.proxy)
    .addOption(new Option('--max-flops <mflops>', 'limit: millions of FLOPs').argParser(parseNumberFlag('max-flops', { positive: true })))
    .addOption(new Option('--max-params <n>', 'limit: parameters').argParser(parseNumberFlag('max-params', { positive: true })))
    .addOption(new Option('--runs <r>', 'independent runs with seeds seed, seed+1, …').default(d.runs).argParser(parseIntFlag('runs', { min: 1, max: 10_000 })))
    .addOption(new Option('--time-budget <minutes>', 'stop each run cleanly after this long and report the best so far').argParser(parseNumberFlag('time-budget', { positive: true })))
    .option('--out <dir>', 'write result.json, per-step history CSVs and report.html (checked before the search starts)')
    .option('--json', 'print one JSON object');
  addScoringOptions(cmd);
  cmd.action(async (opts: SearchFlags, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    if (!isProxyName(opts.proxy)) throw new InputError(`unknown proxy ${quoteInput(opts.proxy)} for --proxy`);
    if (opts.tournament > opts.population) throw new InputError(`--tournament (${opts.tournament}) cannot exceed --population (${opts.population})`);
    if (opts.seed + opts.runs - 1 > MAX_SEED) {
      throw new InputError(`--runs ${opts.runs} from --seed ${opts.seed} goes past the largest seed ${MAX_SEED}; lower --seed or --runs`);
    }
    if (opts.out !== undefined) {
      checkOutputDir(opts.out, '--out', searchOutputNames(Array.from({ length: opts.runs }, (_, r) => opts.seed + r)));
    }
    const benchmark = openDefaultBenchmark(globals.dataDir);
    // Counted in steps (mfnas, rea: step 0 scores the initial population) or, for random
    // search, in architectures sampled; a run stopped by --time-budget skips its remaining ones.
    const byArchs = opts.algorithm === 'random';
    const perRun = byArchs ? opts.samples : opts.steps + 1;
    const progress = new Progress('search', { itemName: byArchs ? 'archs' : 'steps' });
    // The search seed varies per run; the proxy batches and weights stay fixed (0 unless given),
    // so every run scores an architecture identically and shares the cache.
    const session = await openScoring(opts.space, opts.dataset, opts, globals, {}, { dataSeed: 0, initSeed: 0 });
    try {
      const { result, details } = await runSearch({
        scorer: session.scorer, benchmark,
        options: {
          algorithm: opts.algorithm, population: opts.population, tournament: opts.tournament, steps: opts.steps,
          mutations: opts.mutations, samples: opts.samples, proxy: opts.proxy, seed: opts.seed, runs: opts.runs,
          timeBudget: opts.timeBudget, limits: { maxFlops: opts.maxFlops, maxParams: opts.maxParams },
        },
        hooks: {
          onStep: (seed, rec, acc) => progress.update(
            (seed - opts.seed) * perRun + (byArchs ? rec.evaluated : rec.step + 1), opts.runs * perRun,
            `seed ${seed} step ${rec.step} · ${rec.evaluated} scored · answer ${acc !== null ? acc.toFixed(2) + '%' : rec.answer}`,
          ),
        },
      });
      progress.finish(); // a run cut short by --time-budget leaves the bar short of its total
      if (opts.out) writeSearchOutputs(opts.out, result, details);
      printResult(result, !!opts.json);
    } finally {
      progress.finish();
      await session.close();
    }
  });
}

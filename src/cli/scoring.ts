/** Flags and set-up shared by the commands that score architectures (score, correlate, search). */
import { Command, Option } from 'commander';
import type { DatasetName } from '../datasets/registry.js';
import { createProxyContext } from '../proxies/context.js';
import { createEvaluator, defaultWorkers } from '../proxies/evaluators.js';
import { Scorer, type ScorerOptions } from '../proxies/scorer.js';
import { ScoreCache } from '../storage/scoreCache.js';
import { defaultCachePath } from '../storage/paths.js';
import type { SpaceName } from '../spaces/types.js';
import { parseIntFlag, type GlobalOptions } from './options.js';

export interface ScoringFlags {
  batch: number;
  batches: number;
  seed: number;
  dataSeed?: number;
  initSeed?: number;
  cache: string | boolean;
  workers?: number;
}

export function addScoringOptions(cmd: Command, { workers = true } = {}): Command {
  cmd
    .addOption(new Option('--batch <n>', 'images per proxy batch').default(128).argParser(parseIntFlag('batch', { min: 1 })))
    .addOption(new Option('--batches <k>', 'number of proxy batches').default(2).argParser(parseIntFlag('batches', { min: 1 })))
    .addOption(new Option('--seed <n>', 'seed (search, sampling; also the data and init seeds unless given)').default(0).argParser(parseIntFlag('seed')))
    .addOption(new Option('--data-seed <n>', 'seed of the proxy batches (default: --seed)').argParser(parseIntFlag('data-seed')))
    .addOption(new Option('--init-seed <n>', 'seed of the weight initialisation (default: --seed)').argParser(parseIntFlag('init-seed')))
    .option('--cache <file>', 'score cache (SQLite); default MFNAS_CACHE or ~/.cache/mfnas/scores.sqlite')
    .option('--no-cache', 'do not read or write the score cache');
  if (workers) {
    cmd.addOption(new Option('--workers <w>', `worker threads (default: one per core = ${defaultWorkers()})`).argParser(parseIntFlag('workers', { min: 1 })));
  }
  return cmd;
}

export interface ScoringSession {
  readonly scorer: Scorer;
  readonly cache: ScoreCache | null;
  close(): Promise<void>;
}

/**
 * Proxy context, evaluator and cache for one command. The data and init seeds follow --seed
 * unless given, so `--seed` alone reproduces a whole run.
 */
export async function openScoring(
  space: SpaceName, dataset: DatasetName, flags: ScoringFlags, globals: GlobalOptions,
  options: Omit<ScorerOptions, 'cache'> = {}, fixedSeeds?: { dataSeed: number; initSeed: number },
): Promise<ScoringSession> {
  const ctx = createProxyContext({
    space, dataset, dataDir: globals.dataDir, batchSize: flags.batch, batches: flags.batches,
    dataSeed: flags.dataSeed ?? fixedSeeds?.dataSeed ?? flags.seed,
    initSeed: flags.initSeed ?? fixedSeeds?.initSeed ?? flags.seed,
  });
  const cache = flags.cache === false ? null : new ScoreCache(typeof flags.cache === 'string' ? flags.cache : defaultCachePath());
  const evaluator = await createEvaluator(ctx, { workers: flags.workers });
  const scorer = new Scorer(ctx, evaluator, { ...options, cache });
  return {
    scorer, cache,
    async close() {
      await evaluator.close();
      cache?.close();
    },
  };
}

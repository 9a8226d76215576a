/** Flags and set-up shared by the commands that score architectures (score, correlate, search). */
import { Command, Option } from 'commander';
import type { DatasetRef } from '../datasets/registry.js';
import { defaultWorkers } from '../proxies/poolEvaluator.js';
import { openScoringSession, type ScoringSession, type ScoringSessionOptions } from '../scoring/session.js';
import type { SpaceName } from '../spaces/types.js';
import { MAX_SEED, parseIntFlag, parseSeedFlag, type GlobalOptions } from './options.js';

export interface ScoringFlags {
  batch: number;
  batches: number;
  seed: number;
  dataSeed?: number;
  initSeed?: number;
  cache: string | boolean;
  workers?: number;
  /** `--queue URL` (or MFNAS_QUEUE) where the command has the option (see queueOption). */
  queue?: string;
}

export function addScoringOptions(cmd: Command, { workers = true } = {}): Command {
  cmd
    .addOption(new Option('--batch <n>', 'images per proxy batch').default(128).argParser(parseIntFlag('batch', { min: 1 })))
    .addOption(new Option('--batches <k>', 'number of proxy batches').default(2).argParser(parseIntFlag('batches', { min: 1 })))
    .addOption(new Option('--seed <n>', `seed, an integer 0..${MAX_SEED} (search, sampling; also the data and init seeds unless given)`).default(0).argParser(parseSeedFlag('seed')))
    .addOption(new Option('--data-seed <n>', 'seed of the proxy batches (default: --seed)').argParser(parseSeedFlag('data-seed')))
    .addOption(new Option('--init-seed <n>', 'seed of the weight initialisation (default: --seed)').argParser(parseSeedFlag('init-seed')))
    .option('--cache <file>', 'score cache (SQLite); default MFNAS_CACHE or ~/.cache/mfnas/scores.sqlite')
    .option('--no-cache', 'do not read or write the score cache');
  if (workers) {
    cmd.addOption(new Option('--workers <w>', `worker threads (default: one per core = ${defaultWorkers()})`).argParser(parseIntFlag('workers', { min: 1 })));
  }
  return cmd;
}

/**
 * The scoring session of one command (src/scoring/session.ts). The data and init seeds follow
 * --seed unless given, so `--seed` alone reproduces a whole run.
 */
export function openScoring(
  space: SpaceName, dataset: DatasetRef, flags: ScoringFlags, globals: GlobalOptions,
  options: Pick<ScoringSessionOptions, 'onResult' | 'batch' | 'batches' | 'resolution' | 'cache' | 'workers' | 'jobs'> = {},
  fixedSeeds?: { dataSeed: number; initSeed: number },
): Promise<ScoringSession> {
  return openScoringSession({
    space, dataset, dataDir: globals.dataDir, batch: flags.batch, batches: flags.batches,
    dataSeed: flags.dataSeed ?? fixedSeeds?.dataSeed ?? flags.seed,
    initSeed: flags.initSeed ?? fixedSeeds?.initSeed ?? flags.seed,
    cache: cacheOption(flags.cache), workers: flags.workers, queue: flags.queue, ...options,
  });
}

/** commander gives `--cache FILE` as a string, `--no-cache` as false, neither as true. */
export function cacheOption(flag: string | boolean): string | false | undefined {
  return flag === false ? false : typeof flag === 'string' ? flag : undefined;
}

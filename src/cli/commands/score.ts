import { Option, type Command } from 'commander';
import { score, type ScoreResult } from '../../api/index.js';
import { datasetLabel } from '../../datasets/registry.js';
import { DEFAULT_PROXIES } from '../../proxies/registry.js';
import { fmtScore, fmtSeconds, keyValues, table } from '../format.js';
import { addDatasetOptions, archText, printResult, proxyListText, resolveDatasetFlags, spaceOption, type DatasetFlags, type GlobalOptions } from '../options.js';
import { addScoringOptions, cacheOption, type ScoringFlags } from '../scoring.js';
import type { SpaceName } from '../../spaces/types.js';

/** `mfnas score` without --json. */
export function formatScore(r: ScoreResult, context: { space: string; dataset: string; batch: number; batches: number; seed: number }): string {
  const head = keyValues([
    ['arch', r.arch],
    ['index', r.index === null ? '– (no NATS-Bench table)' : String(r.index)],
    ['scored on', `${context.space.toUpperCase()} / ${context.dataset}, ${context.batches} × ${context.batch} images, seed ${context.seed}`],
  ]);
  const rows = Object.entries(r.scores).map(([p, v]) => [p, fmtScore(v as number)]);
  return `${head}\n${table(['proxy', 'score'], rows)}\n${fmtSeconds(r.seconds)} s${r.seconds === 0 ? ' (from the cache)' : ''}\n`;
}

export function registerScoreCommand(program: Command): void {
  const cmd = program
    .command('score')
    .description('score one architecture with zero-shot proxies')
    .addOption(spaceOption());
  addDatasetOptions(cmd)
    .addOption(new Option('--arch <arch>', 'architecture string or NATS-Bench index').makeOptionMandatory().argParser(archText))
    .addOption(new Option('--proxies <list>', `comma-separated proxies, or all (default ${DEFAULT_PROXIES.join(',')})`).argParser(proxyListText('--proxies')))
    .option('--json', 'print one JSON object');
  addScoringOptions(cmd, { workers: false });
  cmd.action(async (opts: ScoringFlags & DatasetFlags & { space: SpaceName; arch: string; proxies?: string; json?: boolean }, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    const dataset = await resolveDatasetFlags(opts);
    const result = await score({
      space: opts.space, dataset, arch: opts.arch, proxies: opts.proxies, batch: opts.batch, batches: opts.batches,
      seed: opts.seed, dataSeed: opts.dataSeed, initSeed: opts.initSeed, dataDir: globals.dataDir, cache: cacheOption(opts.cache),
    });
    if (opts.json) printResult(result, true);
    else {
      const label = datasetLabel(dataset);
      process.stdout.write(formatScore(result, { space: opts.space, dataset: label, batch: opts.batch, batches: opts.batches, seed: opts.seed }));
    }
  });
}

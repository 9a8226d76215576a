import { Option, type Command } from 'commander';
import { score } from '../../api/index.js';
import { DEFAULT_PROXIES } from '../../proxies/registry.js';
import { archText, datasetOption, printResult, proxyListText, spaceOption, type GlobalOptions } from '../options.js';
import { addScoringOptions, cacheOption, type ScoringFlags } from '../scoring.js';

export function registerScoreCommand(program: Command): void {
  const cmd = program
    .command('score')
    .description('score one architecture with zero-shot proxies')
    .addOption(spaceOption())
    .addOption(datasetOption())
    .addOption(new Option('--arch <arch>', 'architecture string or NATS-Bench index').makeOptionMandatory().argParser(archText))
    .addOption(new Option('--proxies <list>', `comma-separated proxies, or all (default ${DEFAULT_PROXIES.join(',')})`).argParser(proxyListText('--proxies')))
    .option('--json', 'print one JSON object');
  addScoringOptions(cmd, { workers: false });
  cmd.action(async (opts: ScoringFlags & { space: 'tss' | 'sss'; dataset: any; arch: string; proxies?: string; json?: boolean }, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    const result = await score({
      space: opts.space, dataset: opts.dataset, arch: opts.arch, proxies: opts.proxies, batch: opts.batch, batches: opts.batches,
      seed: opts.seed, dataSeed: opts.dataSeed, initSeed: opts.initSeed, dataDir: globals.dataDir, cache: cacheOption(opts.cache),
    });
    printResult(result, !!opts.json);
  });
}

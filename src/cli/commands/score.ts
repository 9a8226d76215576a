import type { Command } from 'commander';
import { describeArchitecture, openDefaultBenchmark } from '../../report/archInfo.js';
import { DEFAULT_PROXIES, parseProxyList } from '../../proxies/registry.js';
import { datasetOption, printResult, spaceOption, type GlobalOptions } from '../options.js';
import { addScoringOptions, openScoring, type ScoringFlags } from '../scoring.js';

export function registerScoreCommand(program: Command): void {
  const cmd = program
    .command('score')
    .description('score one architecture with zero-shot proxies')
    .addOption(spaceOption())
    .addOption(datasetOption())
    .requiredOption('--arch <arch>', 'architecture string or NATS-Bench index')
    .option('--proxies <list>', `comma-separated proxies, or all (default ${DEFAULT_PROXIES.join(',')})`)
    .option('--json', 'print one JSON object');
  addScoringOptions(cmd, { workers: false });
  cmd.action(async (opts: ScoringFlags & { space: 'tss' | 'sss'; dataset: any; arch: string; proxies?: string; json?: boolean }, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    const proxies = opts.proxies ? parseProxyList(opts.proxies) : [...DEFAULT_PROXIES];
    const info = describeArchitecture({ space: opts.space, dataset: opts.dataset, arch: opts.arch, benchmark: openDefaultBenchmark(globals.dataDir) });
    const t0 = performance.now();
    const session = await openScoring(opts.space, opts.dataset, { ...opts, workers: 1 }, globals);
    try {
      const r = await session.scorer.score(info.arch, proxies);
      printResult({ arch: r.arch, index: info.index, scores: r.scores, seconds: (performance.now() - t0) / 1000 }, !!opts.json);
    } finally {
      await session.close();
    }
  });
}

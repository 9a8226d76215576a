import type { Command } from 'commander';
import { describeArchitecture, openDefaultBenchmark } from '../../report/archInfo.js';
import { datasetOption, printResult, spaceOption, type GlobalOptions } from '../options.js';

export function registerArchCommand(program: Command): void {
  program
    .command('arch')
    .description('describe one architecture: index, canonical form, params, FLOPs, benchmark accuracy')
    .addOption(spaceOption())
    .addOption(datasetOption())
    .requiredOption('--arch <arch>', 'architecture string or NATS-Bench index')
    .option('--json', 'print one JSON object')
    .action((opts, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const benchmark = openDefaultBenchmark(globals.dataDir);
      printResult(describeArchitecture({ space: opts.space, dataset: opts.dataset, arch: opts.arch, benchmark }), !!opts.json);
    });
}

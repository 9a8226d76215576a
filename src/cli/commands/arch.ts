import { Option, type Command } from 'commander';
import { natsBench } from '../../api/index.js';
import { archText, datasetOption, printResult, spaceOption, type GlobalOptions } from '../options.js';

export function registerArchCommand(program: Command): void {
  program
    .command('arch')
    .description('describe one architecture: index, canonical form, params, FLOPs, benchmark accuracy')
    .addOption(spaceOption())
    .addOption(datasetOption())
    .addOption(new Option('--arch <arch>', 'architecture string or NATS-Bench index').makeOptionMandatory().argParser(archText))
    .option('--json', 'print one JSON object')
    .action(async (opts, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const bench = await natsBench({ dataDir: globals.dataDir });
      printResult(bench.arch(opts.space, opts.arch, opts.dataset), !!opts.json);
    });
}

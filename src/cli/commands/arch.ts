import { Option, type Command } from 'commander';
import { natsBench } from '../../api/index.js';
import type { ArchInfo } from '../../report/archInfo.js';
import { fmtAccuracy, fmtMillions, fmtParamsM, keyValues } from '../format.js';
import { archText, datasetOption, printResult, spaceOption, type GlobalOptions } from '../options.js';

/** `mfnas arch` without --json. */
export function formatArchInfo(a: ArchInfo): string {
  return keyValues([
    ['space', a.space.toUpperCase()],
    ['dataset', a.dataset],
    ['index', a.index === null ? '– (no NATS-Bench table)' : String(a.index)],
    ['arch', a.arch],
    ...(a.canonical !== a.arch ? [['canonical', a.canonical] as const] : []),
    ['params', `${fmtParamsM(a.params)} M (${a.params.toLocaleString('en-US')})`],
    ['FLOPs', `${fmtMillions(a.flops)} M`],
    ['accuracy', a.accuracy === null ? '– (no benchmark accuracy)' : `${fmtAccuracy(a.accuracy)} %`],
  ]);
}

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
      const info = bench.arch(opts.space, opts.arch, opts.dataset);
      if (opts.json) printResult(info, true);
      else process.stdout.write(formatArchInfo(info));
    });
}

import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { openDefaultBenchmark } from '../../report/archInfo.js';
import { correlate, parseIndexList, readIndexFile, requireTable, sampleIndices, spaceSize, writeCorrelationCsv } from '../../report/correlate.js';
import { DEFAULT_PROXIES, parseProxyList } from '../../proxies/registry.js';
import { checkOutputFile } from '../../util/atomicWrite.js';
import { InputError, quotePath } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { datasetOption, parseIntFlag, plainText, printResult, proxyListText, spaceOption, type GlobalOptions } from '../options.js';
import { addScoringOptions, openScoring, type ScoringFlags } from '../scoring.js';

/** `--indices` items are echoed by the index parser: refuse long or binary ones here, quoted. */
function indexListText(text: string): string {
  for (const item of text.split(/[\s,]+/)) plainText('--indices', 20, 'an index: give integers separated by commas')(item);
  return text;
}

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false; // missing or unreadable: readIndexFile says so
  }
}

interface CorrelateFlags extends ScoringFlags {
  space: 'tss' | 'sss'; dataset: any; sample?: number; indices?: string; indicesFile?: string;
  proxies?: string; out?: string; json?: boolean;
}

export function registerCorrelateCommand(program: Command): void {
  const cmd = program
    .command('correlate')
    .description('rank correlation (Kendall τ-b, Spearman ρ) of proxies with benchmark accuracy')
    .addOption(spaceOption())
    .addOption(datasetOption())
    .addOption(new Option('--sample <n>', 'score n architectures drawn with --seed').argParser(parseIntFlag('sample', { min: 2 })))
    .addOption(new Option('--indices <list>', 'comma-separated benchmark indices (at least 2)').argParser(indexListText))
    .option('--indices-file <file>', 'file of benchmark indices')
    .addOption(new Option('--proxies <list>', `comma-separated proxies, or all (default ${DEFAULT_PROXIES.join(',')},zico,params)`)
      .argParser(proxyListText('--proxies')))
    .option('--out <file.csv>', 'write one row per architecture (checked before scoring starts)')
    .option('--json', 'print one JSON object');
  addScoringOptions(cmd);
  cmd.action(async (opts: CorrelateFlags, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    if (opts.out !== undefined) checkOutputFile(opts.out, '--out');
    if (opts.indicesFile !== undefined && isFolder(opts.indicesFile)) {
      throw new InputError(`--indices-file ${quotePath(opts.indicesFile)} is a folder; give a text file of indices`);
    }
    const benchmark = requireTable(opts.space, openDefaultBenchmark(globals.dataDir));
    const size = spaceSize(opts.space, benchmark);
    const given = [opts.sample !== undefined, !!opts.indices, !!opts.indicesFile].filter(Boolean).length;
    if (given !== 1) throw new InputError('choose the architectures with exactly one of --sample N, --indices i,j,... or --indices-file F');
    const indices = opts.sample !== undefined ? sampleIndices(opts.space, opts.sample, opts.seed, size)
      : opts.indices ? parseIndexList(opts.indices, size, '--indices') : readIndexFile(opts.indicesFile!, size);
    if (new Set(indices).size < 2) {
      throw new InputError(`a correlation needs at least 2 different architectures, got ${indices.length === 1 ? 'one' : 'the same one repeated'}; give more indices`);
    }
    const proxies = opts.proxies ? parseProxyList(opts.proxies) : [...DEFAULT_PROXIES, 'zico' as const, 'params' as const];
    const progress = new Progress('correlate', { itemName: 'archs' });
    const session = await openScoring(opts.space, opts.dataset, opts, globals, {
      onResult: (_r, done, total) => progress.update(done, total),
    });
    try {
      const result = await correlate({ scorer: session.scorer, benchmark, indices, proxies });
      progress.finish();
      if (opts.out) writeCorrelationCsv(opts.out, result.rows, proxies);
      const { rows: _rows, ...summary } = result;
      printResult(summary, !!opts.json);
    } finally {
      progress.finish();
      await session.close();
    }
  });
}

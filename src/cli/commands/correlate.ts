import path from 'node:path';
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { openDefaultNatsBenchTables } from '../../natsbench/tables.js';
import {
  correlate, correlationCsv, parseIndexList, readIndexFile, requireTable, sampleArchitectures, sampleIndices, spaceSize, type CorrelationResult,
} from '../../study/correlate.js';
import { spaceByName } from '../../spaces/index.js';
import { renderCorrelateReport } from '../../report/correlateReport.js';
import { DEFAULT_PROXIES, parseProxySelection, type SetProxyInfo } from '../../proxies/registry.js';
import { checkOutputFile, writeFilesAtomic, type OutputFile } from '../../util/atomicWrite.js';
import { fmtSeconds, table } from '../format.js';
import { InputError, quotePath } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { datasetOption, parseIntFlag, plainText, printResult, proxyListText, spaceOption, type GlobalOptions } from '../options.js';
import { addScoringOptions, openScoring, type ScoringFlags } from '../scoring.js';
import type { SpaceName } from '../../spaces/types.js';
import { queueOption } from './worker.js';

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
  space: SpaceName; dataset: any; sample?: number; indices?: string; indicesFile?: string;
  proxies?: string; out?: string; report?: string; json?: boolean;
}

/** `mfnas correlate` without --json: one line of counts, then τ and ρ per proxy, best first. */
export function formatCorrelation(r: Omit<CorrelationResult, 'rows'>, context: { space: string; dataset: string }): string {
  const head = `${context.space.toUpperCase()} / ${context.dataset} · ${r.n} architectures (${r.evaluated} scored now, ${r.n - r.evaluated} from the cache) · ` +
    `${fmtSeconds(r.seconds)} s${r.secondsPerArchitecture !== null ? ` · ${fmtSeconds(r.secondsPerArchitecture)} s per architecture` : ''}`;
  if (Object.keys(r.proxies).length === 0) return `${head}\n\nNo benchmark accuracies in the ${context.space} space: the scores are in --out.\n`;
  const rows = Object.entries(r.proxies).sort(([, a], [, b]) => b!.kendall - a!.kendall)
    .map(([p, c]) => [p, c!.kendall.toFixed(3), c!.spearman.toFixed(3)]);
  return `${head}\n\n${table(['proxy', 'Kendall τ', 'Spearman ρ'], rows)}`;
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
    .addOption(new Option('--proxies <list>', `comma-separated proxies, presets (az_nas, …) and ensemble(a,b,...), or all (default ${DEFAULT_PROXIES.join(',')},zico,params)`)
      .argParser(proxyListText('--proxies')))
    .option('--out <file.csv>', 'write one row per architecture (checked before scoring starts)')
    .addOption(new Option('--report <file.html>', 'write a page with the τ/ρ table and a scatter per proxy against accuracy')
      .argParser(plainText('--report', 4096, 'a file path')))
    .option('--json', 'print one JSON object')
    .addOption(queueOption());
  addScoringOptions(cmd);
  cmd.action(async (opts: CorrelateFlags, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    if (opts.out !== undefined) checkOutputFile(opts.out, '--out');
    if (opts.report !== undefined) {
      checkOutputFile(opts.report, '--report');
      if (opts.out !== undefined && path.resolve(opts.out) === path.resolve(opts.report)) throw new InputError('--out and --report name the same file; give the CSV and the page different names');
      if (!/\.html?$/i.test(opts.report)) throw new InputError(`--report ${quotePath(opts.report)} should end in .html (the CSV goes to --out)`);
    }
    if (opts.indicesFile !== undefined && isFolder(opts.indicesFile)) {
      throw new InputError(`--indices-file ${quotePath(opts.indicesFile)} is a folder; give a text file of indices`);
    }
    const given = [opts.sample !== undefined, !!opts.indices, !!opts.indicesFile].filter(Boolean).length;
    if (given !== 1) throw new InputError('choose the architectures with exactly one of --sample N, --indices i,j,... or --indices-file F');
    // A space without an index has no benchmark: its own sampler draws the architectures, which are scored only.
    const definition = spaceByName(opts.space);
    if (definition.size === null) {
      if (opts.sample === undefined) throw new InputError(`the ${opts.space} space has no benchmark indices: choose its architectures with --sample N`);
      if (opts.report !== undefined) throw new InputError(`--report plots proxies against benchmark accuracy, which the ${opts.space} space has none of: use --out`);
    }
    const benchmark = definition.size === null ? null : requireTable(opts.space, openDefaultNatsBenchTables(globals.dataDir));
    const size = benchmark === null ? 0 : spaceSize(opts.space, benchmark);
    const archs = benchmark === null ? sampleArchitectures(definition, opts.sample!, opts.seed) : null;
    const indices = archs !== null ? [] : opts.sample !== undefined ? sampleIndices(opts.space, opts.sample, opts.seed, size)
      : opts.indices ? parseIndexList(opts.indices, size, '--indices') : readIndexFile(opts.indicesFile!, size);
    if (archs === null && new Set(indices).size < 2) {
      throw new InputError(`a correlation needs at least 2 different architectures, got ${indices.length === 1 ? 'one' : 'the same one repeated'}; give more indices`);
    }
    // Set proxies (presets, ensembles) are aggregated over the sample from their components,
    // which are scored (and cached) per network like any proxy.
    const { proxies, sets } = opts.proxies ? parseProxySelection(opts.proxies)
      : { proxies: [...DEFAULT_PROXIES, 'zico' as const, 'params' as const], sets: [] as SetProxyInfo[] };
    const columns = [...proxies, ...sets.map((s) => s.name)];
    const progress = new Progress('correlate', { itemName: 'archs' });
    const session = await openScoring(opts.space, opts.dataset, opts, globals, {
      onResult: (_r, done, total) => progress.update(done, total), jobs: archs?.length ?? new Set(indices).size,
    });
    try {
      const result = archs !== null ? await correlate({ scorer: session.scorer, archs, proxies, sets })
        : await correlate({ scorer: session.scorer, benchmark: benchmark!, indices, proxies, sets });
      progress.finish();
      const files: OutputFile[] = [];
      if (opts.out) files.push({ path: opts.out, data: correlationCsv(result.rows, columns) });
      if (opts.report) {
        files.push({ path: opts.report, data: renderCorrelateReport(result, { space: opts.space, dataset: opts.dataset, proxies: columns, csv: opts.out, page: opts.report }) });
      }
      // Both or neither: a report that links a CSV that failed to appear would mislead.
      if (files.length > 0) writeFilesAtomic(files);
      const { rows: _rows, ...summary } = result;
      if (opts.json) printResult(summary, true);
      else process.stdout.write(formatCorrelation(summary, { space: opts.space, dataset: opts.dataset }));
    } finally {
      progress.finish();
      await session.close();
    }
  });
}

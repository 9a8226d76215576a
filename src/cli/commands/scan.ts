import { Option, type Command } from 'commander';
import { SCAN_DEFAULT_PROXIES, parseRange, scan, scannableSize, type ScanResult } from '../../scan/index.js';
import { Progress } from '../../util/progress.js';
import { checkOutputFile } from '../../util/atomicWrite.js';
import { fmtSeconds, keyValues, table } from '../format.js';
import { addDatasetOptions, plainText, printResult, proxyListText, resolveDatasetFlags, spaceOption, type DatasetFlags, type GlobalOptions } from '../options.js';
import { addScoringOptions, cacheOption, type ScoringFlags } from '../scoring.js';
import type { SpaceName } from '../../spaces/types.js';
import { queueOption } from './worker.js';

interface ScanFlags extends ScoringFlags, DatasetFlags {
  space: SpaceName; proxies?: string; range?: string; out: string; json?: boolean;
}

/** `mfnas scan` without --json. */
export function formatScan(r: ScanResult): string {
  const pairs: [string, string][] = [
    ['space', `${r.space.toUpperCase()} / ${r.dataset}, indices ${r.range[0]}..${r.range[1] - 1}`],
    ['architectures', `${r.architectures.toLocaleString('en-US')} in ${r.classes.toLocaleString('en-US')} classes`],
    ['evaluated', `${r.evaluated.toLocaleString('en-US')} (${r.cached.toLocaleString('en-US')} from the cache)`],
    ['engine', r.engine],
    ['seconds', `${fmtSeconds(r.seconds)}${r.secondsPerClass === null ? '' : ` (${fmtSeconds(r.secondsPerClass)} s of proxies per class)`}`],
  ];
  if (r.out) pairs.push(['written', r.out]);
  if (r.queue) {
    pairs.push(['queue', `${r.queue.queue}: ${r.queue.accepted} results accepted, ${r.queue.resubmitted} jobs requeued`]);
    for (const [w, n] of Object.entries(r.queue.workers)) pairs.push(['  worker', `${w}: ${n}`]);
  }
  let text = keyValues(pairs);
  if (r.correlation) {
    const rows = Object.entries(r.correlation).map(([p, c]) => [p, c!.kendall.toFixed(4), c!.spearman.toFixed(4)]);
    text += `\n${table(['proxy', 'kendall τ', 'spearman ρ'], rows)}`;
  }
  return text;
}

export function registerScanCommand(program: Command): void {
  const cmd = program
    .command('scan')
    .description('score every architecture of a space (one evaluation per class of identical ones), write a table, correlate with the benchmark')
    .addOption(spaceOption());
  addDatasetOptions(cmd)
    .addOption(new Option('--proxies <list>', `comma-separated proxies, or all (default ${SCAN_DEFAULT_PROXIES.join(',')})`).argParser(proxyListText('--proxies')))
    .addOption(new Option('--range <start:end>', 'only the benchmark indices start..end-1 (default the whole space)').argParser(plainText('--range', 40, 'a range: give START:END')))
    .addOption(new Option('--out <file.csv>', 'write index,arch,<proxies...> for every architecture').makeOptionMandatory())
    .addOption(queueOption())
    .option('--json', 'print one JSON object (without the rows)');
  addScoringOptions(cmd);
  cmd.action(async (opts: ScanFlags, c: Command) => {
    const globals = c.optsWithGlobals() as GlobalOptions;
    checkOutputFile(opts.out, '--out');
    const range = opts.range === undefined ? undefined : parseRange(opts.range, scannableSize(opts.space));
    const dataset = await resolveDatasetFlags(opts);
    const progress = new Progress('scan', { itemName: 'classes' });
    try {
      const result = await scan({
        space: opts.space, dataset, proxies: opts.proxies, batch: opts.batch, batches: opts.batches, seed: opts.seed,
        dataSeed: opts.dataSeed, initSeed: opts.initSeed, range, dataDir: globals.dataDir, cache: cacheOption(opts.cache),
        workers: opts.workers, queue: opts.queue, out: opts.out,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();
      const { rows: _rows, ...summary } = result;
      if (opts.json) printResult(summary, true);
      else process.stdout.write(formatScan(result));
    } finally {
      progress.finish();
    }
  });
}

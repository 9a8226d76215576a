/**
 * `mfnas data fetch cifar10|cifar100|ImageNet16-120 --to DIR [...]`: a thin layer over
 * src/fetch/datasets.ts (fetchCifar, installImageNet16, imagenet16Instructions).
 */
import { Command } from 'commander';
import { parseDatasetName } from '../../datasets/registry.js';
import { DATA_DIR_ENV } from '../../datasets/dataDir.js';
import { fetchCifar, imagenet16Instructions, installImageNet16 } from '../../fetch/datasets.js';
import { formatBytes, formatDuration, Progress } from '../../util/progress.js';
import { checkOutputDir } from '../../util/atomicWrite.js';
import { InputError } from '../../util/errors.js';
import { parseIntFlag, plainText, type GlobalOptions } from '../options.js';

interface FetchFlags {
  to?: string;
  url?: string;
  md5?: string;
  from?: string[];
  force?: boolean;
  keepArchive?: boolean;
  retries?: number;
  json?: boolean;
}

/** `--to`, else the global --data-dir, else $MFNAS_DATA_DIR. */
export function targetDir(to: string | undefined, globals: GlobalOptions): string | null {
  return to ?? globals.dataDir ?? process.env[DATA_DIR_ENV]?.trim() ?? null;
}

function subcommand(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

async function runFetch(datasetText: string, flags: FetchFlags, globals: GlobalOptions): Promise<void> {
  const dataset = parseDatasetName(plainText('dataset', 40, 'a dataset: use cifar10, cifar100 or ImageNet16-120')(datasetText));
  const to = targetDir(flags.to, globals);
  if (to !== null) checkOutputDir(to, '--to');
  const out = process.stdout;

  if (dataset === 'ImageNet16-120') {
    if (flags.url || flags.md5) throw new InputError('--url and --md5 apply to cifar10 / cifar100; ImageNet16-120 is installed with --from');
    if (!flags.from || flags.from.length === 0) {
      // With --json stdout carries JSON only: the instructions are for a person, who runs without it.
      if (flags.json) throw new InputError('nothing installed: pass the ImageNet16 archives with --from (run without --json for where to get them)');
      out.write(`${imagenet16Instructions(to ?? '<DIR>')}\n`);
      throw new InputError('nothing installed: download the ImageNet16 archives as described above and pass them with --from');
    }
    if (to === null) throw new InputError(`give the data directory with --to DIR (or --data-dir / ${DATA_DIR_ENV})`);
    const r = await installImageNet16({ from: flags.from, to });
    if (flags.json) {
      out.write(`${JSON.stringify({ dataset, path: r.path, installed: r.installed, missing: r.missing })}\n`);
      return;
    }
    out.write(`ImageNet16-120: installed ${r.installed.join(', ')} in ${r.path}\n`);
    if (r.missing.length > 0) out.write(`  still missing: ${r.missing.join(', ')}\n`);
    return;
  }
  if (flags.from) throw new InputError(`--from applies to ImageNet16-120; ${dataset} is downloaded (use --url for a mirror)`);
  if (to === null) throw new InputError(`give the data directory with --to DIR (or --data-dir / ${DATA_DIR_ENV})`);

  const label = dataset === 'cifar10' ? 'cifar-10-binary.tar.gz' : 'cifar-100-binary.tar.gz';
  const progress = new Progress(label, { unit: 'bytes' });
  let first = true;
  let last = 0;
  let started = Date.now();
  let ended = false;
  try {
    const r = await fetchCifar({
      dataset, to, url: flags.url, md5: flags.md5, force: flags.force, keepArchive: flags.keepArchive, retries: flags.retries,
      onProgress: (received, total) => {
        if (first) {
          // The first report comes before any byte arrives and says how much an earlier run left.
          first = false;
          started = Date.now();
          progress.restart(received);
        }
        last = received;
        progress.update(received, total);
      },
    });
    ended = true;
    if (flags.json) {
      progress.finish();
      out.write(`${JSON.stringify(r)}\n`);
      return;
    }
    if (r.alreadyPresent) {
      progress.finish(`${dataset}: ${r.path} already exists (${r.files.length} files); nothing downloaded (use --force to replace it)`);
      return;
    }
    const how = r.downloaded
      ? `downloaded ${formatBytes(r.archiveBytes)}${r.resumedFrom > 0 ? ` (resumed at ${formatBytes(r.resumedFrom)})` : ''} in ${formatDuration(Date.now() - started)}`
      : 'reused the verified archive already in the folder';
    progress.finish(`${label}: ${how}, MD5 ${r.md5 ?? 'not checked'}`);
    out.write(`${dataset}: installed ${r.path} (${r.files.join(', ')})\n`);
    for (const w of r.warnings) out.write(`  warning: ${w}\n`);
  } finally {
    // Ends a bar already drawn, so that the error line starts on a line of its own.
    if (!ended) progress.finish(last > 0 ? `${label}: stopped after ${formatBytes(last)}` : undefined);
  }
}

export function registerDataCommands(program: Command): void {
  const data = subcommand(program, 'data', 'set up the image datasets (CIFAR-10, CIFAR-100, ImageNet16-120)');
  data
    .command('fetch')
    .description(
      'download CIFAR-10 / CIFAR-100 (official binary version: resumable, MD5-checked, extracted into DIR), ' +
        'or install ImageNet16-120 from archives you downloaded (--from)',
    )
    .argument('<dataset>', 'cifar10, cifar100 or ImageNet16-120')
    .option('--to <dir>', `data directory (default: --data-dir or $${DATA_DIR_ENV}); creates DIR/cifar-10-batches-bin, DIR/cifar-100-binary or DIR/ImageNet16`)
    .option('--url <url>', 'download from this URL (a mirror) instead of www.cs.toronto.edu; the published MD5 is still checked')
    .option('--md5 <hex>', 'expected MD5 of the archive, instead of the published one')
    .option('--from <paths...>', 'ImageNet16-120: Imagenet16_train.tar.gz, Imagenet16_val.tar.gz, or folders holding train_data_batch_* / val_data')
    .option('--force', 'replace the dataset directory if it already exists')
    .option('--keep-archive', 'keep the downloaded .tar.gz next to the dataset')
    .option('--retries <n>', 'automatic resume attempts after a network error', parseIntFlag('retries', { min: 0 }), 3)
    .option('--json', 'print the result as one JSON object (errors as one JSON line on stderr)')
    .action(async (dataset: string, flags: FetchFlags, cmd: Command) => {
      await runFetch(dataset, flags, cmd.optsWithGlobals() as GlobalOptions);
    });
}

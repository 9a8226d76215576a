/**
 * `mfnas natsbench import --space tss|sss --from <folder or .tar> [--to DIR]`: a thin layer over
 * importNatsBench (src/natsbench/import/natsImport.ts).
 */
import { Command } from 'commander';
import { DATA_DIR_ENV } from '../../datasets/dataDir.js';
import { importNatsBench, OFFICIAL_FOLDERS } from '../../natsbench/import/natsImport.js';
import { parseSpaceName } from '../../spaces/index.js';
import { InputError } from '../../util/errors.js';
import { formatDuration, Progress } from '../../util/progress.js';
import { parseIntFlag, plainText, type GlobalOptions } from '../options.js';
import { targetDir } from './data.js';

interface ImportFlags {
  space: string;
  from: string;
  to?: string;
  strict?: boolean;
  jobs?: number;
  json?: boolean;
}

function subcommand(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

function listIndexes(indexes: readonly number[], max = 8): string {
  const shown = indexes.slice(0, max).join(', ');
  return indexes.length > max ? `${shown}, … (${indexes.length - max} more)` : shown;
}

async function runImport(flags: ImportFlags, globals: GlobalOptions): Promise<void> {
  const space = parseSpaceName(plainText('--space', 40, 'a search space: use tss or sss')(flags.space));
  const to = targetDir(flags.to, globals);
  if (to === null) throw new InputError(`give the data directory with --to DIR (or --data-dir / ${DATA_DIR_ENV}); the tables go to DIR/nats-bench/`);
  const progress = new Progress(`reading ${OFFICIAL_FOLDERS[space]}`, { itemName: 'records' });
  const started = Date.now();
  let done = 0;
  let finished = false;
  try {
    const r = await importNatsBench({
      space, from: flags.from, to, strict: flags.strict, concurrency: flags.jobs,
      onProgress: (d, total) => {
        done = d;
        progress.update(d, total);
      },
    });
    finished = true;
    progress.finish(`read ${r.imported.toLocaleString('en-US')} architecture records in ${formatDuration(Date.now() - started)}`);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...r, missing: r.missing.length, missingIndexes: r.missing })}\n`);
      return;
    }
    const out = process.stdout;
    out.write(
      `${space}: imported ${r.imported.toLocaleString('en-US')} of ${r.total.toLocaleString('en-US')} architectures ` +
        `(${r.epochs}-epoch results, mean over seeds) from ${r.source}\n`,
    );
    for (const t of r.tables) out.write(`  wrote ${t} (${r.columns[t].length} columns)\n`);
    if (r.missing.length > 0) {
      out.write(
        `  ${r.missing.length.toLocaleString('en-US')} architectures have no record file in the input; their rows keep the architecture ` +
          `string but have empty cells (indexes ${listIndexes(r.missing)}). Use --strict to refuse incomplete input\n`,
      );
    }
  } finally {
    if (!finished && done > 0) progress.finish(`stopped after ${done.toLocaleString('en-US')} records; nothing was written`);
  }
}

export function registerNatsBenchCommands(program: Command): void {
  // `bench` is the name of mfnas 0.1, kept as an alias; `natsbench` cannot be mistaken for the
  // speed benchmarks (npm run bench:*).
  const tables = subcommand(program, 'natsbench', 'NATS-Bench benchmark tables').alias('bench');
  tables
    .command('import')
    .description(
      'convert the official NATS-Bench "simple" files (NATS-tss-v1_0-3ffb9-simple / NATS-sss-v1_0-50262-simple, folder or .tar) ' +
        'into the CSV tables in DIR/nats-bench/',
    )
    .requiredOption('--space <space>', 'tss (topology) or sss (size)')
    .requiredOption('--from <path>', 'the "-simple" folder, a folder containing it, or its .tar archive')
    .option('--to <dir>', `data directory (default: --data-dir or $${DATA_DIR_ENV}); tables go to DIR/nats-bench/`)
    .option('--strict', 'fail (write nothing) if any architecture record is missing')
    .option('--jobs <n>', 'worker threads decoding records (default: number of cores, at most 8)', parseIntFlag('jobs', { min: 1 }))
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: ImportFlags, cmd: Command) => {
      await runImport(flags, cmd.optsWithGlobals() as GlobalOptions);
    });
}

/**
 * The `mfnas` command line: a thin layer over the library. Each command module parses flags and
 * calls one typed library function; user errors (MfnasError, and commander's own usage errors)
 * become one line of at most 200 characters on stderr and exit code 2 — with --json, one JSON
 * line `{"error": "...", "exitCode": 2}`, so a script reads every outcome as JSON. Anything
 * else is a bug: it keeps its stack and exits 1 (src/cli/main.ts).
 */
import { Command, CommanderError } from 'commander';
import { errorLine, isMfnasError, MAX_ERROR_LINE, oneLine, quoteInput } from '../util/errors.js';
import { MFNAS_VERSION } from '../search/run.js';
import { registerArchCommand } from './commands/arch.js';
import { registerDataCommands } from './commands/data.js';
import { registerNatsBenchCommands } from './commands/natsbench.js';
import { registerScoreCommand } from './commands/score.js';
import { registerCorrelateCommand } from './commands/correlate.js';
import { registerSearchCommand } from './commands/search.js';
import { registerTrainCommand } from './commands/train.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerExportCommand } from './commands/export.js';
import { registerScanCommand } from './commands/scan.js';
import { registerWorkerCommand } from './commands/worker.js';

export interface ProgramOptions {
  /** Usage errors as JSON lines (the command line asked for --json). */
  json?: boolean;
}

export function buildProgram(options: ProgramOptions = {}): Command {
  const program = new Command('mfnas')
    .description('Training-free neural architecture search (MFNAS) on NATS-Bench, NAS-Bench-Macro and your own images')
    .version(MFNAS_VERSION)
    .option('--data-dir <dir>', 'data directory (default: MFNAS_DATA_DIR, else ../shared/data)')
    .configureOutput({ outputError: (text, write) => write(options.json ? jsonErrorLine(usageMessage(text), 2) : usageErrorLine(text)) })
    .exitOverride();
  registerArchCommand(program);
  registerScoreCommand(program);
  registerCorrelateCommand(program);
  registerSearchCommand(program);
  registerTrainCommand(program);
  registerDataCommands(program);
  registerNatsBenchCommands(program);
  registerPredictCommand(program);
  registerExportCommand(program);
  registerScanCommand(program);
  registerWorkerCommand(program);
  return program;
}

const USAGE_HINT = ' (run with --help for usage)';

/**
 * commander's "error: unknown option '--x'" etc., as one line with the usage hint; the values it
 * echoes in quotes are shortened like ours (quoteInput).
 */
function usageErrorLine(text: string): string {
  return `mfnas: ${oneLine(usageMessage(text), MAX_ERROR_LINE - 'mfnas: '.length - USAGE_HINT.length)}${USAGE_HINT}\n`;
}

function usageMessage(text: string): string {
  return text.replace(/^error: /, '').replace(/'([^']{61,})'/g, (_m, echoed: string) => quoteInput(echoed)).trim();
}

/** A user error as one JSON line; the message is the same one line as without --json. */
export function jsonErrorLine(message: string, exitCode: number): string {
  return `${JSON.stringify({ error: oneLine(message, MAX_ERROR_LINE), exitCode })}\n`;
}

/** Whether the command line asks for --json (options end at a bare `--`). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export async function runCli(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  try {
    await buildProgram({ json }).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message; help and version exit 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isMfnasError(e)) {
      process.stderr.write(json ? jsonErrorLine(e.message, e.exitCode) : errorLine(e.message));
      return e.exitCode;
    }
    throw e;
  }
}


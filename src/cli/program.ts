/**
 * The `mfnas` command line: a thin layer over the library. Each command module parses flags and
 * calls one typed library function; user errors (MfnasError, and commander's own usage errors)
 * become one line of at most 200 characters on stderr and exit code 2. Anything else is a bug:
 * it keeps its stack and exits 1 (src/cli/main.ts).
 */
import { Command, CommanderError } from 'commander';
import { errorLine, isMfnasError, MAX_ERROR_LINE, oneLine, quoteInput } from '../util/errors.js';
import { registerArchCommand } from './commands/arch.js';
import { registerDataCommands } from './commands/data.js';
import { registerNatsBenchCommands } from './commands/natsbench.js';
import { registerScoreCommand } from './commands/score.js';
import { registerCorrelateCommand } from './commands/correlate.js';
import { registerSearchCommand } from './commands/search.js';

export function buildProgram(): Command {
  const program = new Command('mfnas')
    .description('Training-free neural architecture search on NATS-Bench (MFNAS)')
    .version('0.1.0')
    .option('--data-dir <dir>', 'data directory (default: MFNAS_DATA_DIR, else ../shared/data)')
    .configureOutput({ outputError: (text, write) => write(usageErrorLine(text)) })
    .exitOverride();
  registerArchCommand(program);
  registerScoreCommand(program);
  registerCorrelateCommand(program);
  registerSearchCommand(program);
  registerDataCommands(program);
  registerNatsBenchCommands(program);
  return program;
}

const USAGE_HINT = ' (run with --help for usage)';

/**
 * commander's "error: unknown option '--x'" etc., as one line with the usage hint; the values it
 * echoes in quotes are shortened like ours (quoteInput).
 */
function usageErrorLine(text: string): string {
  const message = text.replace(/^error: /, '').replace(/'([^']{61,})'/g, (_m, echoed: string) => quoteInput(echoed));
  return `mfnas: ${oneLine(message, MAX_ERROR_LINE - 'mfnas: '.length - USAGE_HINT.length)}${USAGE_HINT}\n`;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message; help and version exit 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isMfnasError(e)) {
      process.stderr.write(errorLine(e.message));
      return e.exitCode;
    }
    throw e;
  }
}


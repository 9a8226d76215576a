/**
 * The `mfnas` command line: a thin layer over the library. Each command module parses flags and
 * calls one typed library function; user errors (MfnasError) become one line on stderr and
 * exit code 2.
 */
import { Command, CommanderError } from 'commander';
import { isMfnasError } from '../util/errors.js';
import { registerArchCommand } from './commands/arch.js';
import { registerDataCommands } from './commands/data.js';
import { registerBenchCommands } from './commands/bench.js';
import { registerScoreCommand } from './commands/score.js';
import { registerCorrelateCommand } from './commands/correlate.js';
import { registerSearchCommand } from './commands/search.js';

export function buildProgram(): Command {
  const program = new Command('mfnas')
    .description('Training-free neural architecture search on NATS-Bench (MFNAS)')
    .version('0.1.0')
    .option('--data-dir <dir>', 'data directory (default: MFNAS_DATA_DIR, else ../shared/data)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerArchCommand(program);
  registerScoreCommand(program);
  registerCorrelateCommand(program);
  registerSearchCommand(program);
  registerDataCommands(program);
  registerBenchCommands(program);
  return program;
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
      process.stderr.write(`mfnas: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}


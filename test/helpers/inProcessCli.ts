/**
 * Run some `mfnas` commands in this process on a bare program, capturing stdout/stderr and
 * turning user errors into exit code 2 with the one-line message, as the real entry point does.
 */
import { Command } from 'commander';
import { vi } from 'vitest';
import { errorLine, isMfnasError } from '../../src/util/errors.js';

export interface InProcessResult { code: number; stdout: string; stderr: string }

export async function runCommandsInProcess(register: (program: Command) => void, args: string[]): Promise<InProcessResult> {
  const program = new Command('mfnas').option('--data-dir <dir>').exitOverride();
  register(program);
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const text = (spy: typeof stdout) => spy.mock.calls.map((c) => String(c[0])).join('');
  let code = 0;
  let message = '';
  let out = '';
  let err = '';
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (!isMfnasError(e)) throw e;
    code = e.exitCode;
    message = errorLine(e.message);
  } finally {
    out = text(stdout);
    err = text(stderr);
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return { code, stdout: out, stderr: err + message };
}

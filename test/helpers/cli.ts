/** Run the real `mfnas` entry point (TypeScript sources through tsx) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');
export const DATA = path.resolve(REPO, '../shared/data');
const ENTRY = path.join(REPO, 'src/cli/main.ts');

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: REPO, env: { ...process.env, MFNAS_DATA_DIR: DATA, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Runs the CLI to completion. Never spawnSync: a long blocking child starves vitest's worker RPC
 * ("Timeout calling onTaskUpdate", an unhandled error that fails the run).
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = startCli(args, env);
  let stdout = '', stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `runCli` with a deadline: a run still going after `ms` is killed and reported as hung. */
export function runCliWithin(args: string[], ms: number, env: Record<string, string> = {}): Promise<CliResult & { hung: boolean }> {
  const child = startCli(args, env);
  let stdout = '', stderr = '', hung = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, ms);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, hung }); });
  });
}

/**
 * `mfnas worker` processes for the queue tests, on the throwaway redis-server of redisServer.ts
 * (re-exported here so the tests keep one import).
 */
import type { ChildProcess } from 'node:child_process';
import { startCli } from './cli.js';

export { freePort, startRedis, type RedisServer } from './redisServer.js';

/** A running `mfnas worker` with its stderr collected. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /**
   * Resolves when `pattern` appears in its stderr after character `from` (rejects after
   * `timeoutMs` or when it exits).
   */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export function watchProcess(child: ChildProcess): WorkerProcess {
  let err = '';
  const waiters: Array<() => void> = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { for (const w of waiters.splice(0)) w(); resolve(code); }));
  return {
    child, exited, log: () => err,
    waitFor(pattern, timeoutMs = 60_000, from = 0) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${err.slice(-2000)}`)), timeoutMs);
        const check = () => {
          const m = pattern.exec(err.slice(from));
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${err.slice(-2000)}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}

/** Starts `mfnas worker --queue url --concurrency 1 --verbose …` and waits until it takes jobs. */
export async function startWorker(url: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = watchProcess(startCli(['worker', '--queue', url, '--concurrency', '1', '--verbose', ...args], env));
  await w.waitFor(/ready: queue/);
  return w;
}

/** Stops a worker politely (SIGTERM) if it still runs. */
export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await w.exited;
}

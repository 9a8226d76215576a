/**
 * A throwaway `redis-server` (Debian's package, installed by scripts/setup.sh) on a free loopback
 * port, without persistence. Free of vitest and of the CLI helpers, so the queue benchmark
 * (bench/timing/queue.ts) starts its server with the same code as the queue tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops it (data gone: no persistence). */
  stop(): Promise<void>;
  /** Stops it and starts a fresh, empty one on the same port. */
  restart(pauseMs?: number): Promise<void>;
  /** Sends one command (inline protocol) and returns the raw reply. */
  command(...args: string[]): Promise<string>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function rawCommand(port: number, args: readonly string[], tls = false): Promise<string> {
  if (tls) return Promise.reject(new Error('rawCommand: no TLS'));
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.setEncoding('utf8');
    sock.once('error', reject);
    sock.on('data', (d: string) => {
      data += d;
      if (data.endsWith('\r\n')) {
        sock.end();
        resolve(data.trim());
      }
    });
    const wire = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    sock.write(wire);
  });
}

async function waitReady(port: number, child: ChildProcess, log: () => string, ping: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${log().slice(-500)}`);
    try {
      await ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer: ${log().slice(-500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Starts `redis-server --port <free> --bind 127.0.0.1 --save '' --appendonly no` plus `extra`
 * arguments. `tlsPort` serves TLS there instead of plain TCP (give the certificate in `extra`).
 */
export async function startRedis(opts: { extra?: readonly string[]; tls?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'mfnas-redis-'));
  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    const portArgs = opts.tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
    child = spawn('redis-server', [...portArgs, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(opts.extra ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { output += d; });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new Error(`cannot start redis-server (${(e as NodeJS.ErrnoException).code}): install it (scripts/setup.sh: apt-get install redis-server)`)));
    });
    // With TLS the plain-text probe cannot talk to it: "Ready to accept connections" in the log instead.
    await waitReady(port, child, () => output, opts.tls
      ? async () => { if (!/Ready to accept connections/.test(output)) throw new Error('not yet'); }
      : () => rawCommand(port, ['PING']));
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    port,
    url: `${opts.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(pauseMs = 500) {
      await stop();
      await new Promise((r) => setTimeout(r, pauseMs));
      await launch();
    },
    command: (...args: string[]) => rawCommand(port, args, opts.tls),
  };
}

/**
 * Queue URLs: parsing, the password kept out of every message and log, and a real TLS Redis
 * (rediss://, self-signed certificate trusted through MFNAS_QUEUE_CA) with a password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from './helpers/cli.js';
import { startRedis, startWorker, stopWorker, type RedisServer, type WorkerProcess } from './helpers/redis.js';
import { describeError, parseQueueUrl, redact } from '../src/queue/connection.js';
import { decodeScore, encodeScore, jobId, jobKey } from '../src/queue/jobs.js';
import { InputError } from '../src/util/errors.js';
import { thrownBy } from './helpers/oneLine.js';

describe('queue URLs', () => {
  it('parses host, port, database, user and password; TLS for rediss', () => {
    const c = parseQueueUrl('redis://alice:p%40ss@10.0.0.5:6390/3', {});
    expect([c.host, c.port, c.db, c.tls]).toEqual(['10.0.0.5', 6390, 3, false]);
    expect(c.options.username).toBe('alice');
    expect(c.options.password).toBe('p@ss');
    expect(c.redacted).toBe('redis://alice:***@10.0.0.5:6390/3');
    const d = parseQueueUrl('rediss://queue.example', { MFNAS_QUEUE_PASSWORD: 'from-env' });
    expect([d.host, d.port, d.db, d.tls]).toEqual(['queue.example', 6379, 0, true]);
    expect(d.options.password).toBe('from-env');
    expect(d.options.tls).toMatchObject({ servername: 'queue.example' });
    expect(d.redacted).toBe('rediss://queue.example:6379/0');
  });

  it('refuses what is not a Redis URL without echoing a password', () => {
    const bad = ['http://u:hunter2@h:1', 'redis://:hunter2@h:1/x', 'redis://:hunter2@h:1?tls=1', 'hunter2 is no url', 'redis://:hunter2@:1'];
    for (const text of bad) {
      const err = thrownBy(() => parseQueueUrl(text, {}));
      expect(err, text).toBeInstanceOf(InputError);
      expect((err as Error).message).not.toContain('hunter2');
      expect((err as Error).message).toMatch(/redis:\/\//);
    }
  });

  it('bad percent-encoding and out-of-range ports are one-line InputErrors that never show the password', () => {
    const cases: Array<[string, RegExp]> = [
      ['redis://u:hunter2%zz@host', /^--queue redis:\/\/u:\*\*\*@host:6379\/0: the password has a bad percent-encoding \(not shown\)/],
      ['redis://:hunter2%@host:6380/2', /the password has a bad percent-encoding/],
      ['redis://:hunter2%C3%28@host', /the password has a bad percent-encoding/], // not UTF-8
      ['redis://al%zz:hunter2@host', /^--queue redis:\/\/al%zz:\*\*\*@host:6379\/0: the user name has a bad percent-encoding/],
      ['redis://:hunter2@host:65536', /^--queue: port 65536 is out of range: give a port from 1 to 65535/],
      ['rediss://u:hunter2@[::1]:99999', /^--queue: port 99999 is out of range/],
      ['redis://:hunter2@host:0/1', /port 0 is out of range/],
      ['redis://:hunter2@host:1/123456', /the database after the port must be a number from 0 to 9999/],
    ];
    for (const [text, pattern] of cases) {
      const err = thrownBy(() => parseQueueUrl(text, {}));
      expect(err, text).toBeInstanceOf(InputError);
      expect((err as Error).message, text).toMatch(pattern);
      expect((err as Error).message).not.toContain('hunter2');
      expect((err as Error).message).not.toMatch(/\n/);
    }
    expect(parseQueueUrl('redis://:hunter2@host:65535', {}).port).toBe(65535);
  });

  it('MFNAS_QUEUE_CA must be a regular file: a folder or FIFO is refused without blocking', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mfnas-ca-'));
    try {
      const fifo = path.join(dir, 'ca.pem');
      execFileSync('mkfifo', [fifo]);
      expect(() => parseQueueUrl('rediss://host', { MFNAS_QUEUE_CA: fifo })).toThrow(/MFNAS_QUEUE_CA .*ca\.pem" is a FIFO \(named pipe\), not a regular file: give the PEM file/);
      expect(() => parseQueueUrl('rediss://host', { MFNAS_QUEUE_CA: dir })).toThrow(/is a directory, not a regular file/);
      expect(() => parseQueueUrl('rediss://host', { MFNAS_QUEUE_CA: path.join(dir, 'none.pem') })).toThrow(/cannot be opened \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redacts the password, raw and URL-encoded, from library messages', () => {
    const c = parseQueueUrl('redis://:p%2Fw@h:1', {});
    expect(redact('AUTH p/w failed; url redis://:p%2Fw@h', c)).toBe('AUTH *** failed; url redis://:***@h');
    expect(describeError(Object.assign(new Error('ERR p/w'), { code: 'X' }), c)).toBe('X: ERR ***');
  });

  it('job ids are digests of the cache key; scores cross as text, bit for bit', () => {
    const base = {
      space: 'tss' as const, dataset: { kind: 'builtin' as const, name: 'cifar10' as const }, datasetKey: 'cifar10',
      settings: { batchSize: 16, batches: 2, dataSeed: 0, initSeed: 0 }, dataFingerprint: '0123456789abcdef',
      engine: 'native:2:tfjs-4.22.0:onednn-2.6.3', arch: 'a', canonical: 'c',
      proxies: [{ name: 'zico' as const, version: 1 }, { name: 'params' as const, version: 1 }],
    };
    const key = jobKey(base);
    expect(key).toBe('tss|cifar10|c|b16x2-d0-i0-0123456789abcdef|native:2:tfjs-4.22.0:onednn-2.6.3|params@1,zico@1');
    expect(jobKey({ ...base, proxies: [...base.proxies].reverse() })).toBe(key);
    expect(jobId(key)).toMatch(/^s[0-9a-f]{40}$/);
    expect(jobId(jobKey({ ...base, dataFingerprint: 'fedcba9876543210' }))).not.toBe(jobId(key));
    for (const v of [0, -0, NaN, Infinity, -Infinity, 1 / 3, -1.2345678901234567e-300, Number.MAX_VALUE, 5e-324]) {
      expect(Object.is(decodeScore(JSON.parse(JSON.stringify(encodeScore(v)))), v), String(v)).toBe(true);
    }
  });
});

describe('rediss:// with a password', () => {
  const PASSWORD = 'Sekr3t-queue-pw';
  let dir: string;
  let redis: RedisServer;
  let worker: WorkerProcess;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mfnas-tls-'));
    const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
    redis = await startRedis({
      tls: true,
      extra: ['--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no', '--requirepass', PASSWORD],
    });
    worker = await startWorker(redis.url.replace('rediss://', `rediss://:${PASSWORD}@`), [], { MFNAS_QUEUE_CA: cert });
  });

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores through TLS; the password never shows in output', async () => {
    const env = { MFNAS_QUEUE_CA: path.join(dir, 'cert.pem'), MFNAS_QUEUE_PASSWORD: PASSWORD };
    const args = ['scan', '--space', 'tss', '--dataset', 'cifar100', '--batch', '16', '--batches', '2', '--range', '0:3', '--no-cache',
      '--out', path.join(dir, 'tls.csv'), '--json'];
    const ok = await runCli([...args, '--queue', redis.url], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).queue.accepted).toBe(JSON.parse(ok.stdout).classes);
    expect(worker.log()).toMatch(/ready: queue mfnas-scores at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0/);

    const wrong = await runCli([...args, '--queue', redis.url.replace('rediss://', 'rediss://:Wrong-pw-123@')], { MFNAS_QUEUE_CA: env.MFNAS_QUEUE_CA });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/password/);
    expect(wrong.stderr).toMatch(/rediss:\/\/:\*\*\*@127\.0\.0\.1/);
    // No TLS trust: a clear error, not a hang.
    const untrusted = await runCli([...args, '--queue', redis.url], { MFNAS_QUEUE_PASSWORD: PASSWORD });
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/cannot use the queue's Redis at rediss:\/\/127\.0\.0\.1:\d+\/0 \(.*(certificate|self.signed)/i);
    for (const r of [ok, wrong, untrusted]) {
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(r.stdout + r.stderr).not.toContain('Wrong-pw-123');
    }
    expect(worker.log()).not.toContain(PASSWORD);
  });
});

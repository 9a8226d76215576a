/**
 * Where the job queue lives: a Redis URL (`--queue`, `MFNAS_QUEUE`) turned into ioredis options,
 * with the password kept out of every message. The URL is never echoed as given: messages and
 * logs use `redacted` (the password as `***`), and `redact` scrubs the password out of any text a
 * library hands back (ioredis and BullMQ errors).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DataError, InputError } from '../util/errors.js';
import { readRegularFileSync } from '../util/regularFile.js';

export const DEFAULT_REDIS_PORT = 6379;

export interface QueueConnection {
  /** `redis[s]://[user:***@]host:port/db`: safe to print. */
  readonly redacted: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  /** ioredis options (password included: never print these). */
  readonly options: RedisOptions;
  /** Text that must never appear in output (the password, raw and URL-encoded). */
  readonly secrets: readonly string[];
}

const URL_SHAPE = 'redis://[user:password@]host:port[/db] (rediss:// for TLS)';
const MAX_PORT = 65_535;
/** A PEM bundle of every public certificate authority is about 200 KB. */
const MAX_CA_BYTES = 16 * 1024 * 1024;

/**
 * A percent-encoded user name or password, decoded; bad encoding (`%zz`, a lone `%`, bytes that
 * are not UTF-8) is a one-line InputError that shows neither the part nor the password.
 */
function decodeUrlPart(encoded: string, what: 'user name' | 'password', redacted: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new InputError(`--queue ${redacted}: the ${what} has a bad percent-encoding${what === 'password' ? ' (not shown)' : ''}; ` +
      'write % as %25 and each special character as %XX, e.g. @ as %40');
  }
}

/**
 * Parses a queue URL. The password may also come from `MFNAS_QUEUE_PASSWORD` (so that it stays
 * out of `ps` listings); for `rediss://`, `MFNAS_QUEUE_CA` names a PEM file of the certificate
 * authority to trust besides the system's (for a self-signed server certificate).
 */
export function parseQueueUrl(text: string, env: NodeJS.ProcessEnv = process.env): QueueConnection {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    // The one mistake worth naming: a port the URL parser refuses as too large.
    const port = /^rediss?:\/\/(?:[^@/]*@)?(?:\[[^\]/]*\]|[^:/@[]*):(\d+)(?:[/?#]|$)/i.exec(text.trim())?.[1];
    if (port !== undefined && Number(port) > MAX_PORT) {
      throw new InputError(`--queue: port ${port.length > 12 ? `${port.slice(0, 12)}…` : port} is out of range: ` +
        `give a port from 1 to ${MAX_PORT} (default ${DEFAULT_REDIS_PORT})`);
    }
    // Not echoed: a malformed URL may still hold a password.
    throw new InputError(`--queue is not a URL (not shown, it may hold a password): use ${URL_SHAPE}`);
  }
  const redacted = redactUrl(url);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InputError(`--queue ${redacted} is not a Redis URL: use ${URL_SHAPE}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new InputError(`--queue ${redacted} names no host: use ${URL_SHAPE}`);
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  // The URL parser has refused ports above 65535 already; 0 would mean "any port" to a server, never a Redis to reach.
  if (port < 1) throw new InputError(`--queue ${redacted}: port 0 is out of range: give a port from 1 to ${MAX_PORT} (default ${DEFAULT_REDIS_PORT})`);
  const dbText = url.pathname.replace(/^\//, '');
  if (!/^\d{0,4}$/.test(dbText)) throw new InputError(`--queue ${redacted}: the database after the port must be a number from 0 to 9999 (e.g. /0)`);
  const db = dbText === '' ? 0 : Number(dbText);
  if (url.search !== '' || url.hash !== '') {
    throw new InputError(`--queue ${redacted}: options after ? or # are not supported; use ${URL_SHAPE}`);
  }
  // Decoded once the URL's shape is right, so that a message names the first thing to fix.
  const username = url.username !== '' ? decodeUrlPart(url.username, 'user name', redacted) : undefined;
  const rawPassword = url.password;
  const password = rawPassword !== '' ? decodeUrlPart(rawPassword, 'password', redacted) : env.MFNAS_QUEUE_PASSWORD || undefined;
  const secrets = [rawPassword, password ?? ''].filter((s) => s.length >= 1);
  const tls = url.protocol === 'rediss:';
  let ca: Buffer | undefined;
  if (tls && env.MFNAS_QUEUE_CA) {
    // A regular file only: a FIFO or device named here would block or flood the process.
    ca = readRegularFileSync(env.MFNAS_QUEUE_CA, {
      what: 'MFNAS_QUEUE_CA', hint: 'give the PEM file of the certificate authority that signed the Redis server certificate', maxBytes: MAX_CA_BYTES,
    });
  }
  const options: RedisOptions = {
    host, port, db, username, password,
    // BullMQ's workers block on Redis; a command must wait for a reconnection, never fail
    // because Redis restarted (BullMQ requires null here for workers).
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    // Reconnect forever, at most every 2 s: a restarted Redis is found again within seconds.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    ...(tls ? { tls: { servername: host, ...(ca ? { ca: [ca] } : {}) } } : {}),
  };
  return { redacted, host, port, db, tls, options, secrets };
}

function redactUrl(url: URL): string {
  const user = url.username !== '' ? `${url.username}:***@` : url.password !== '' ? ':***@' : '';
  const port = url.port === '' ? String(DEFAULT_REDIS_PORT) : url.port;
  const path = url.pathname === '' || url.pathname === '/' ? '/0' : url.pathname;
  return `${url.protocol}//${user}${url.hostname}:${port}${path}`;
}

/** `text` with every secret of the connection replaced by `***`. */
export function redact(text: string, conn: Pick<QueueConnection, 'secrets'>): string {
  let out = text;
  for (const s of conn.secrets) out = out.split(s).join('***');
  return out;
}

/** A library error as one redacted line (ioredis errors may quote the command sent). */
export function describeError(e: unknown, conn: Pick<QueueConnection, 'secrets'>): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = String(err?.message ?? e).replace(/\s+/g, ' ').trim();
  return redact(code && !message.includes(code) ? `${code}: ${message}` : message, conn).slice(0, 160);
}

/**
 * Opens a Redis connection for BullMQ (ESM code must hand BullMQ a client: it loads ioredis by
 * `require` only). `lazyConnect` keeps it closed until first used.
 */
export function openRedis(conn: QueueConnection, name: string): Redis {
  const client = new Redis({ ...conn.options, connectionName: name, lazyConnect: true });
  // Errors are reported by whoever watches the connection (ConnectionWatch, checkReachable);
  // without a listener ioredis would print each reconnection failure with a stack.
  client.on('error', () => undefined);
  return client;
}

const FATAL = /NOAUTH|WRONGPASS|invalid password|invalid username|certificate|self.signed|CERT_|ERR_TLS|SSL routines|ENOTFOUND/i;

/**
 * Connects and checks that Redis answers within `timeoutMs`; a clear DataError otherwise (wrong
 * host or port, no server, wrong password, TLS trouble), with the password redacted.
 */
export async function checkReachable(client: Redis, conn: QueueConnection, timeoutMs = 10_000): Promise<void> {
  let last: unknown = null;
  let fail: (e: unknown) => void = () => undefined;
  // A refused connection may be a Redis still starting (compose): wait. A wrong password or an
  // untrusted certificate will not mend by waiting: fail at once.
  const onError = (e: unknown) => {
    last = e;
    if (FATAL.test(describeError(e, conn))) fail(e);
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      fail = reject;
    });
    if (client.status === 'wait') void client.connect().catch((e) => { last = e; });
    await Promise.race([client.ping(), timeout]);
  } catch (e) {
    client.disconnect();
    const cause = last ?? e;
    let text = describeError(cause, conn);
    const auth = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(text);
    if (auth) text = `${/NOAUTH/.test(text) ? 'NOAUTH: a password is required' : 'WRONGPASS: wrong user or password'}`;
    else text = text.slice(0, 80);
    throw new DataError(`cannot use the queue's Redis at ${conn.redacted} (${text}): ` +
      (auth ? 'check the user and password (in the URL or MFNAS_QUEUE_PASSWORD)'
        : 'start redis-server there or fix --queue / MFNAS_QUEUE (see docs/distributed.md)'));
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}

/**
 * Reports connection trouble on a long run without flooding: one line when Redis goes away (then
 * at most one a minute), one when it is back.
 */
export class ConnectionWatch {
  private lostAt: number | null = null;
  private lastLine = 0;
  constructor(private readonly conn: QueueConnection, private readonly log: (line: string) => void, private readonly who: string) {}

  watch(client: Redis): void {
    client.on('error', (e) => this.error(e));
    client.on('ready', () => this.ready());
  }

  error(e: unknown): void {
    const now = Date.now();
    if (this.lostAt === null) this.lostAt = now;
    if (now - this.lastLine < 60_000) return;
    this.lastLine = now;
    this.log(`${this.who}: Redis at ${this.conn.redacted} unavailable (${describeError(e, this.conn)}); reconnecting`);
  }

  ready(): void {
    if (this.lostAt === null) return;
    this.log(`${this.who}: reconnected to ${this.conn.redacted} after ${((Date.now() - this.lostAt) / 1000).toFixed(1)} s`);
    this.lostAt = null;
    this.lastLine = 0;
  }
}

/**
 * Resumable HTTP(S) download with checksum verification.
 *
 * Bytes go to `<dest>.part`. When a `.part` file exists (an interrupted earlier run, or a
 * network error in this run), the transfer resumes with an HTTP `Range: bytes=<size>-` request
 * and appends; if the server ignores the range (answers 200 instead of 206) the `.part` file is
 * truncated and the transfer restarts from zero. Network errors are retried (resuming) up to
 * `retries` times; if they persist the `.part` file is kept so that the next run resumes.
 * When the transfer is complete the MD5 is checked: on mismatch the `.part` file is deleted
 * (nothing is left behind) and a DataError is thrown; on success `.part` is renamed to `dest`
 * (atomic within a filesystem).
 *
 * Node's own http/https modules are used rather than `fetch`, so that no content decoding is
 * applied (a server that labels a .tar.gz `Content-Encoding: gzip` must not have it unpacked,
 * or the checksum could never match).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataError, InputError, oneLine, quoteInput } from '../util/errors.js';
import { md5File } from './checksum.js';

export interface DownloadOptions {
  url: string;
  /** Final path of the verified file; bytes are first written to `<dest>.part`. */
  dest: string;
  /** Expected hex MD5; null/undefined = no check. */
  md5?: string | null;
  /** Automatic resume attempts after a network error or a 5xx answer (default 3). */
  retries?: number;
  /** Pause before a retry, multiplied by the attempt number (default 1000 ms). */
  retryDelayMs?: number;
  /** Abort when the connection is idle this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive: bytes present in the file so far and the total (if known). */
  onProgress?: (received: number, total: number | null) => void;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** MD5 of the file (computed in every case). */
  md5: string;
  /** Bytes that were already in `.part` when the first request resumed (0 = fresh download). */
  resumedFrom: number;
  /** True if a server ignored a Range request and the transfer restarted from zero. */
  restartedFromZero: boolean;
  /** Number of HTTP requests made (1 for a clean download). */
  requests: number;
}

const MAX_REDIRECTS = 5;

interface Opened {
  res: http.IncomingMessage;
  req: http.ClientRequest;
  finalUrl: string;
}

/** A failure worth retrying (the .part file stays, the transfer can resume). */
class TransientError extends Error {}

/** `text` as an http(s) URL (resolved against `base` for a redirect's Location), or an error saying why not. */
function httpUrl(text: string, base?: URL): URL {
  let parsed: URL | null = null;
  try {
    parsed = new URL(text, base);
  } catch {
    // reported below
  }
  // A redirect must not lead to file:, data: or other schemes: only the network is downloaded from.
  if (parsed?.protocol === 'http:' || parsed?.protocol === 'https:') return parsed;
  const what = parsed ? 'not an http:// or https:// URL' : 'not a valid URL';
  if (base) throw new DataError(`${quoteInput(base.href)} redirected to ${quoteInput(parsed?.href ?? text)}, ${what}; use --url with a direct link`);
  throw new InputError(`${quoteInput(text)} is ${what}: give an http:// or https:// address`);
}

function openUrl(url: URL, headers: Record<string, string>, idleTimeoutMs: number, depth = 0): Promise<Opened> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<Opened>((resolve, reject) => {
    const req = mod.get(
      url,
      { headers: { 'User-Agent': 'mfnas', 'Accept-Encoding': 'identity', ...headers } },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(status) && location) {
          res.resume();
          if (depth >= MAX_REDIRECTS) {
            reject(new DataError(`${quoteInput(url.href)}: too many redirects (more than ${MAX_REDIRECTS}); check the URL or use --url`));
            return;
          }
          // Inside this callback a throw would escape the promise and crash the process.
          let next: URL;
          try {
            next = httpUrl(location, url);
          } catch (e) {
            reject(e);
            return;
          }
          openUrl(next, headers, idleTimeoutMs, depth + 1).then(resolve, reject);
          return;
        }
        resolve({ res, req, finalUrl: url.toString() });
      },
    );
    req.setTimeout(idleTimeoutMs, () => {
      req.destroy(new TransientError(`no data received for ${Math.round(idleTimeoutMs / 1000)} s`));
    });
    req.on('error', (e) => reject(e instanceof DataError || e instanceof InputError ? e : new TransientError(e.message)));
  });
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

// "bytes 100-199/1000" -> {start: 100, total: 1000}; "bytes */1000" -> {start: null, total: 1000}.
function parseContentRange(header: string | undefined): { start: number | null; total: number | null } | null {
  if (!header) return null;
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(header.trim());
  if (!m) return null;
  return { start: m[1] !== undefined ? Number(m[1]) : null, total: m[2] === '*' ? null : Number(m[2]) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Download `url` to `dest` (see the module comment for resume and verification rules). */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest } = options;
  const target = httpUrl(url);
  const shown = quoteInput(url);
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const part = `${dest}.part`;
  const expectedMd5 = options.md5 ? options.md5.toLowerCase() : null;

  let requests = 0;
  let failures = 0;
  let resumedFrom = -1;
  let restartedFromZero = false;
  let useRange = true;
  let lastError = '';

  for (;;) {
    const start = useRange ? await fileSize(part) : 0;
    if (resumedFrom < 0) resumedFrom = start;
    requests++;
    let opened: Opened;
    try {
      opened = await openUrl(target, start > 0 ? { Range: `bytes=${start}-` } : {}, idleTimeoutMs);
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      lastError = e.message;
      if (failures++ < retries) {
        await sleep(retryDelayMs * failures);
        continue;
      }
      break;
    }
    const { res, req } = opened;
    const status = res.statusCode ?? 0;

    if (status === 416 && start > 0) {
      // Nothing left to send: either .part is already complete, or it is longer than the file.
      res.resume();
      const cr = parseContentRange(res.headers['content-range']);
      if (cr?.total === start) {
        lastError = '';
        break; // complete
      }
      await fsp.rm(part, { force: true });
      restartedFromZero = true;
      continue;
    }
    if (status >= 500) {
      res.resume();
      lastError = `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
      if (failures++ < retries) {
        await sleep(retryDelayMs * failures);
        continue;
      }
      break;
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new DataError(
        `${shown}: the server answered HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() +
          '; check the URL (or pass another mirror with --url)',
      );
    }

    let append = false;
    let total: number | null = null;
    const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
    if (status === 206) {
      const cr = parseContentRange(res.headers['content-range']);
      if (start === 0 || cr === null || cr.start !== start) {
        // A partial answer we did not ask for (or for another offset): do not trust it.
        res.resume();
        req.destroy();
        await fsp.rm(part, { force: true });
        useRange = false;
        restartedFromZero = true;
        lastError = `unexpected partial answer (HTTP 206, Content-Range ${res.headers['content-range'] ?? 'missing'})`;
        if (failures++ < retries) continue;
        break;
      }
      append = true;
      total = cr.total ?? (length !== null ? start + length : null);
    } else {
      if (start > 0) restartedFromZero = true; // the server ignored Range: start again from zero
      total = length;
    }

    let received = append ? start : 0;
    options.onProgress?.(received, total);
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        options.onProgress?.(received, total);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res, counter, fs.createWriteStream(part, { flags: append ? 'a' : 'w' }));
      if (total !== null && received !== total) {
        throw new TransientError(`connection closed after ${received} of ${total} bytes`);
      }
      if (total === null && res.complete === false) {
        throw new TransientError('connection closed before the end of the file');
      }
    } catch (e) {
      lastError = (e as Error).message;
      if (failures++ < retries) {
        await sleep(retryDelayMs * failures);
        continue;
      }
      break;
    }
    useRange = true;
    lastError = '';
    break;
  }

  if (lastError) {
    const have = await fileSize(part);
    throw new DataError(
      `download of ${shown} failed after ${requests} request(s): ${oneLine(lastError, 80)}. ` +
        (have > 0
          ? `${have} bytes are kept in ${part}; run the same command again to resume`
          : 'check the network connection (or use --url for another mirror) and try again'),
    );
  }

  const md5 = await md5File(part);
  if (expectedMd5 !== null && md5 !== expectedMd5) {
    await fsp.rm(part, { force: true });
    throw new DataError(
      `${shown}: checksum mismatch (MD5 ${md5}, expected ${expectedMd5}); the file was deleted. ` +
        'Try again, use another mirror with --url, or --md5 for a different file',
    );
  }
  await fsp.rename(part, dest);
  return {
    path: dest,
    bytes: await fileSize(dest),
    md5,
    resumedFrom: Math.max(0, resumedFrom),
    restartedFromZero,
    requests,
  };
}

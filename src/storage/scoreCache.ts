/**
 * Persistent proxy-score cache in SQLite (better-sqlite3 12; 13 crashes on Node 20).
 *
 * A score is keyed by everything that determines its bits: space, dataset, canonical
 * architecture, the exact proxy input (batch settings, seeds and a fingerprint of the bytes of
 * the proxy batches, see `inputKey`), the engine that computed it (engines differ in the last
 * bits), and the proxy's name and definition version — a proxy a script registered as much as a
 * builtin, so a user's proxy whose version changed never gets its old scores. So a cached score
 * is always the one the running command would compute. Each result is committed as soon as it is stored (WAL journal),
 * so a killed run loses nothing and a rerun resumes where it stopped.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataError } from '../util/errors.js';

export interface ScoreKey {
  readonly space: string;
  readonly dataset: string;
  /** Canonical architecture key: functionally identical cells share it. */
  readonly canonical: string;
  /** The exact proxy input: settings and data fingerprint; see `inputKey`. */
  readonly input: string;
  /** The engine and its arithmetic version, e.g. `native:2:onednn-2.6.3`. */
  readonly engine: string;
}

/** A proxy with the version of its definition. */
export interface ProxyVersion {
  readonly name: string;
  readonly version: number;
}

export interface ScoreSettings {
  readonly batchSize: number;
  readonly batches: number;
  readonly dataSeed: number;
  readonly initSeed: number;
}

export function settingsKey(s: ScoreSettings): string {
  return `b${s.batchSize}x${s.batches}-d${s.dataSeed}-i${s.initSeed}`;
}

/** The cache key of a proxy input: its settings and the fingerprint of the batches' bytes. */
export function inputKey(s: ScoreSettings, dataFingerprint: string): string {
  return `${settingsKey(s)}-${dataFingerprint}`;
}

const SCHEMA_VERSION = 2;

export class ScoreCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement;
  private readonly putStmt: Database.Statement;
  /** Set when an older cache file's scores were set aside on opening (see `migrate`). */
  readonly migratedFrom: number | null;

  /** `path` ':memory:' gives a throwaway cache. */
  constructor(readonly path: string) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // A damaged file is reported here, once, rather than in the middle of a long run.
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
      this.migratedFrom = this.migrate();
      this.getStmt = this.db.prepare(
        'SELECT proxy, version, value FROM scores WHERE space=? AND dataset=? AND canonical=? AND input=? AND engine=?');
      this.putStmt = this.db.prepare(`INSERT OR REPLACE INTO scores
        (space, dataset, canonical, input, engine, proxy, version, value, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    } catch (e) {
      throw this.userError(e, 'open');
    }
  }

  /**
   * Creates the schema, or brings an older file up to date. Version 1 files (mfnas 0.1) keyed
   * scores without the data fingerprint, the engine or the proxy version, so their scores cannot
   * be trusted for any input: they are set aside in `scores_v1` (not read) rather than deleted.
   */
  private migrate(): number | null {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new DataError(`the score cache ${this.path} was written by a newer mfnas (schema ${version}); ` +
        'upgrade mfnas, or pass another file with --cache (or --no-cache)');
    }
    if (version === SCHEMA_VERSION) return null;
    const hasV1 = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='scores'").get() !== undefined;
    this.db.transaction(() => {
      if (hasV1) this.db.exec('ALTER TABLE scores RENAME TO scores_v1');
      this.db.exec(`CREATE TABLE scores (
        space TEXT NOT NULL, dataset TEXT NOT NULL, canonical TEXT NOT NULL, input TEXT NOT NULL,
        engine TEXT NOT NULL, proxy TEXT NOT NULL, version INTEGER NOT NULL, value REAL,
        seconds REAL NOT NULL, created TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (space, dataset, canonical, input, engine, proxy, version))`);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    return hasV1 ? 1 : null;
  }

  /** Cached scores of one architecture for the given proxy versions (only those present). */
  get(key: ScoreKey, proxies: readonly ProxyVersion[]): Record<string, number> {
    const want = new Map(proxies.map((p) => [p.name, p.version]));
    const out: Record<string, number> = {};
    try {
      for (const row of this.getStmt.all(key.space, key.dataset, key.canonical, key.input, key.engine) as
        Array<{ proxy: string; version: number; value: number | null }>) {
        if (want.get(row.proxy) === row.version) out[row.proxy] = row.value ?? NaN; // SQLite has no NaN: stored as NULL
      }
    } catch (e) {
      throw this.userError(e, 'read');
    }
    return out;
  }

  /** Store scores computed together; committed before this returns. */
  put(key: ScoreKey, scores: Record<string, number>, versions: readonly ProxyVersion[], seconds: number): void {
    const version = new Map(versions.map((p) => [p.name, p.version]));
    try {
      this.db.transaction(() => {
        for (const [proxy, value] of Object.entries(scores)) {
          const v = version.get(proxy);
          if (v === undefined) throw new Error(`internal: no definition version given for proxy ${proxy}`);
          this.putStmt.run(key.space, key.dataset, key.canonical, key.input, key.engine, proxy, v,
            Number.isNaN(value) ? null : value, seconds);
        }
      })();
    } catch (e) {
      throw this.userError(e, 'write');
    }
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scores').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }

  /** SQLite failures a user can cause or mend (damaged file, full disk, no permission) → one line. */
  private userError(e: unknown, doing: 'open' | 'read' | 'write'): Error {
    if (e instanceof DataError) return e;
    const code = String((e as { code?: unknown }).code ?? '');
    // SQLite's own text can span lines (quick_check lists every damaged page): keep one line.
    const message = String((e as Error).message ?? e).replace(/\s+/g, ' ').trim();
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
      return new DataError(`the score cache ${this.path} is damaged (${message.slice(0, 60)}): ` +
        'delete it (scores are recomputed) or pass another file with --cache, or --no-cache');
    }
    if (doing === 'open' || code.startsWith('SQLITE_')) {
      return new DataError(`cannot ${doing} the score cache ${this.path} (${message.slice(0, 80)}): ` +
        'pass another location with --cache or MFNAS_CACHE, or --no-cache');
    }
    return e as Error;
  }
}

/**
 * Persistent proxy-score cache in SQLite (better-sqlite3 12; 13 crashes on Node 20).
 *
 * A score is keyed by everything that determines it: space, dataset, canonical architecture,
 * proxy, and the evaluation settings (batch size, number of batches, data seed, init seed,
 * engine-independent). Each result is committed as soon as it is stored (WAL journal, one
 * autocommitted statement), so a killed run loses nothing and a rerun resumes where it stopped.
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
  /** Evaluation settings, e.g. `b128x2-d0-i0`; see `settingsKey`. */
  readonly settings: string;
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

export class ScoreCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement;
  private readonly putStmt: Database.Statement;

  /** `path` ':memory:' gives a throwaway cache. */
  constructor(readonly path: string) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(`CREATE TABLE IF NOT EXISTS scores (
        space TEXT NOT NULL, dataset TEXT NOT NULL, canonical TEXT NOT NULL,
        settings TEXT NOT NULL, proxy TEXT NOT NULL, value REAL,
        seconds REAL NOT NULL, created TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (space, dataset, canonical, settings, proxy))`);
    } catch (e) {
      throw new DataError(`cannot open the score cache at ${path}: ${(e as Error).message}; ` +
        'pass another location with --cache or MFNAS_CACHE');
    }
    this.getStmt = this.db.prepare('SELECT proxy, value FROM scores WHERE space=? AND dataset=? AND canonical=? AND settings=?');
    this.putStmt = this.db.prepare(`INSERT OR REPLACE INTO scores (space, dataset, canonical, settings, proxy, value, seconds)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
  }

  /** Cached scores of one architecture (only the proxies present). */
  get(key: ScoreKey): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.getStmt.all(key.space, key.dataset, key.canonical, key.settings) as Array<{ proxy: string; value: number | null }>) {
      out[row.proxy] = row.value ?? NaN; // SQLite has no NaN: it is stored as NULL
    }
    return out;
  }

  /** Store scores computed together; committed before this returns. */
  put(key: ScoreKey, scores: Record<string, number>, seconds: number): void {
    const tx = this.db.transaction(() => {
      for (const [proxy, value] of Object.entries(scores)) {
        this.putStmt.run(key.space, key.dataset, key.canonical, key.settings, proxy, Number.isNaN(value) ? null : value, seconds);
      }
    });
    tx();
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scores').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

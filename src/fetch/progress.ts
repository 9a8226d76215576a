/**
 * Progress display for long operations (downloads, imports). On a TTY the line is redrawn in
 * place (throttled); otherwise nothing is printed until `finish`, which writes one final line,
 * so logs and CI output stay clean.
 */

export interface ProgressReporter {
  /** `done` units out of `total` (null when unknown). */
  update(done: number, total: number | null): void;
  /** Ends the display; prints `summary` as the final line (on a TTY it replaces the live line). */
  finish(summary: string): void;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressUnit = 'bytes' | 'items';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

/**
 * A reporter writing to `stream` (default: process.stderr). `label` prefixes the line,
 * e.g. "cifar-10-binary.tar.gz".
 */
export function createProgressReporter(
  label: string,
  unit: ProgressUnit,
  stream: ProgressStream = process.stderr,
  intervalMs = 150,
): ProgressReporter {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let last = 0;
  let drawn = false;
  let baseline: number | null = null; // units already done at the first update (a resumed download)
  const fmt = (n: number) => (unit === 'bytes' ? formatBytes(n) : n.toLocaleString('en-US'));
  const line = (done: number, total: number | null): string => {
    const elapsed = Math.max(1, Date.now() - started);
    if (baseline === null) baseline = done;
    let text = `${label}: ${fmt(done)}`;
    if (total !== null && total > 0) {
      text += ` / ${fmt(total)} (${((100 * done) / total).toFixed(1)}%)`;
    }
    if (unit === 'bytes') text += `, ${formatBytes(Math.round(((done - baseline) * 1000) / elapsed))}/s`;
    return text;
  };
  const width = () => Math.max(20, (stream.columns || 80) - 1);
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (drawn && now - last < intervalMs && !(total !== null && done >= total)) return;
      last = now;
      drawn = true;
      stream.write(`\r${line(done, total).slice(0, width()).padEnd(width())}`);
    },
    finish(summary) {
      if (tty && drawn) stream.write(`\r${' '.repeat(width())}\r`);
      stream.write(`${summary}\n`);
    },
  };
}

/**
 * Progress lines on stderr for long jobs: rewritten in place on a terminal, otherwise a plain
 * line at most every few seconds (so logs stay readable), always a final line.
 */
export class Progress {
  private last = 0;
  private readonly tty: boolean;
  private readonly start = performance.now();

  constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false) {
    this.tty = !!stream.isTTY;
  }

  update(done: number, total: number, detail = ''): void {
    if (this.quiet) return;
    const now = performance.now();
    const final = done >= total;
    if (!final && now - this.last < (this.tty ? 200 : 10_000)) return;
    this.last = now;
    const elapsed = (now - this.start) / 1000;
    const eta = done > 0 && !final ? ` eta ${formatSeconds((elapsed / done) * (total - done))}` : '';
    const text = `${this.label}: ${done}/${total} (${formatSeconds(elapsed)}${eta})${detail ? ' ' + detail : ''}`;
    if (this.tty) this.stream.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    else if (final || done > 0) this.stream.write(text + '\n');
  }

  /** A free-form status line (same throttling). */
  note(text: string): void {
    if (this.quiet) return;
    const now = performance.now();
    if (now - this.last < (this.tty ? 200 : 10_000)) return;
    this.last = now;
    if (this.tty) this.stream.write(`\r\x1b[K${this.label}: ${text}`);
    else this.stream.write(`${this.label}: ${text}\n`);
  }

  done(text?: string): void {
    if (this.quiet) return;
    if (this.tty) this.stream.write('\r\x1b[K');
    if (text) this.stream.write(`${this.label}: ${text}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

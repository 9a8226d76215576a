/**
 * The progress reporter of every long job (correlate, search, natsbench import, data fetch). It
 * writes to stderr, so that stdout stays the result:
 *
 * - on a terminal, a bar redrawn in place (cli-progress) with done/total, rate and time left;
 * - elsewhere (logs, CI, pipes), a plain line each time another tenth of the work is done or
 *   5 s have passed, so a log shows the job advancing without a line per item.
 *
 *   const progress = new Progress('correlate', { itemName: 'archs' });
 *   progress.update(12, 200);        // correlate: 12/200 (6%) · 0.85 archs/s · 3m41s left
 *   progress.finish('summary');      // the bar makes way for the summary line
 *
 * Reaching the total completes the display by itself (the final line stays), so a caller that
 * never calls `finish` still leaves a clean terminal. The time left assumes the rate so far holds.
 */
import cliProgress from 'cli-progress';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressUnit = 'items' | 'bytes';

export interface ProgressOptions {
  /** 'bytes' shows amounts and the rate as 1.5 MB, 1.5 MB/s (default 'items': 1,234). */
  unit?: ProgressUnit;
  /** What the items are, for the rate: 'archs' gives "0.85 archs/s". */
  itemName?: string;
  /** Default process.stderr; a bar is drawn only where `isTTY` is true. */
  stream?: ProgressStream;
  /** Longest pause between two plain lines while the job advances (default 5000 ms). */
  lineIntervalMs?: number;
  /** A millisecond clock (default Date.now), replaceable so tests need no real time. */
  clock?: () => number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
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
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** cli-progress's bar with two of its habits (internals of the pinned 3.12) turned off. */
class Bar extends cliProgress.SingleBar {
  constructor(options: cliProgress.Options) {
    super(options);
    // It saves the cursor when the bar starts and jumps back there when it stops: a line written
    // meanwhile (a warning, a result on stdout) would then be overwritten and the bar left below.
    const terminal = (this as unknown as { terminal: { cursorSave(): void; cursorRestore(): void } }).terminal;
    terminal.cursorSave = terminal.cursorRestore = () => undefined;
  }

  override render(): void {
    super.render();
    // It redraws on a timer that, left running by a job that failed before `finish`, would keep
    // the process alive; unref'd, the timer only runs while the job does.
    (this as unknown as { timer: NodeJS.Timeout | null }).timer?.unref();
  }
}

export class Progress {
  private readonly unit: ProgressUnit;
  private readonly itemName: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly lineIntervalMs: number;
  private readonly clock: () => number;
  private startedAt: number;
  private baseline = 0;
  private done = 0;
  private total: number | null = null;
  private detail = '';
  private shown = false;
  private completed = false;
  private finished = false;
  private bar: Bar | null = null;
  // Plain lines: when the last one was written, the tenth of the total it showed, its state.
  private lastLineAt: number;
  private lastTenth = 0;
  private lastLineState = '';

  constructor(private readonly label: string, options: ProgressOptions = {}) {
    this.unit = options.unit ?? 'items';
    this.itemName = options.itemName ?? '';
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.lineIntervalMs = options.lineIntervalMs ?? 5000;
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
    this.lastLineAt = this.startedAt;
  }

  /**
   * Measure the rate from now on, with `done` units there already (a resumed download), so
   * that they count neither as speed nor as work left to time.
   */
  restart(done: number): void {
    this.startedAt = this.clock();
    this.lastLineAt = this.startedAt;
    this.baseline = done;
  }

  /** `done` out of `total` (null: unknown); `detail` is appended and kept until replaced. */
  update(done: number, total: number | null, detail?: string): void {
    if (this.completed || this.finished) return;
    this.done = done;
    this.total = total;
    if (detail !== undefined) this.detail = detail;
    this.shown = true;
    if (total !== null && done >= total) {
      this.complete();
      return;
    }
    if (this.tty) this.draw();
    else this.maybeLine();
  }

  /** A status text without new counts (shown like `detail`). */
  note(text: string): void {
    this.update(this.done, this.total, text);
  }

  /**
   * Ends the display: the bar (if any) is cleared, then `summary`, or else the final state if a
   * log does not show it yet, is written as the last line. Safe to call more than once.
   */
  finish(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.completed && this.shown) {
      this.bar?.stop();
      if (summary === undefined && (this.tty || this.lastLineState !== this.state())) this.writeLine(this.line());
    }
    if (summary !== undefined) this.writeLine(summary);
  }

  private complete(): void {
    this.completed = true;
    this.bar?.stop();
    if (this.tty || this.lastLineState !== this.state()) this.writeLine(this.line());
  }

  private draw(): void {
    if (this.bar === null) {
      this.bar = new Bar({
        stream: this.stream as unknown as NodeJS.WritableStream,
        format: (options) => this.barLine(options),
        barsize: 20,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        // Keep the terminal's line wrapping as it is (a line is cut to the width instead), so an
        // interrupted job leaves no terminal setting behind.
        linewrap: true,
        clearOnComplete: true,
      });
      this.bar.start(1, 0);
    }
    this.bar.update(this.done);
  }

  private maybeLine(): void {
    const now = this.clock();
    const tenth = this.total !== null && this.total > 0 ? Math.floor((10 * this.done) / this.total) : 0;
    if (tenth <= this.lastTenth && now - this.lastLineAt < this.lineIntervalMs) return;
    this.lastTenth = Math.max(tenth, this.lastTenth);
    this.lastLineAt = now;
    this.writeLine(this.line());
  }

  private writeLine(text: string): void {
    this.lastLineState = this.state();
    this.stream.write(`${text}\n`);
  }

  private state(): string {
    return `${this.done}/${this.total}/${this.detail}`;
  }

  private amount(n: number): string {
    return this.unit === 'bytes' ? formatBytes(n) : n.toLocaleString('en-US');
  }

  private fraction(): number | null {
    return this.total !== null && this.total > 0 ? Math.min(1, Math.max(0, this.done / this.total)) : null;
  }

  /** Everything after the label (and the bar): amounts, rate, time. */
  private status(): string {
    const parts: string[] = [];
    const f = this.fraction();
    const hasCounts = this.total !== null || this.done > 0;
    if (hasCounts) {
      const sep = this.unit === 'bytes' ? ' / ' : '/';
      parts.push(this.total !== null ? `${this.amount(this.done)}${sep}${this.amount(this.total)}${f !== null ? ` (${Math.floor(100 * f)}%)` : ''}` : this.amount(this.done));
      const elapsed = this.clock() - this.startedAt;
      const rate = elapsed > 0 ? ((this.done - this.baseline) * 1000) / elapsed : 0;
      if (rate > 0) parts.push(this.formatRate(rate));
      if (this.completed) parts.push(`done in ${formatDuration(elapsed)}`);
      else if (this.total !== null) parts.push(rate > 0 ? `${formatDuration(((this.total - this.done) / rate) * 1000)} left` : 'time left unknown');
    }
    if (this.detail) parts.push(this.detail);
    return parts.join(' · ');
  }

  private formatRate(perSecond: number): string {
    if (this.unit === 'bytes') return `${formatBytes(perSecond)}/s`;
    const n = perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 1 ? perSecond.toFixed(1) : perSecond.toPrecision(2);
    return this.itemName ? `${n} ${this.itemName}/s` : `${n}/s`;
  }

  private line(): string {
    return `${this.label}: ${this.status()}`;
  }

  private barLine(options: cliProgress.Options): string {
    const f = this.fraction();
    const bar = f !== null ? ` ${cliProgress.Format.BarFormat(f, options)}` : '';
    return `${this.label}${bar} ${this.status()}`;
  }
}

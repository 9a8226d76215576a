/**
 * The shared progress reporter (src/util/progress.ts). Time comes from a fake clock, so nothing
 * here depends on how fast the machine is.
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, Progress, type ProgressOptions } from '../src/util/progress.js';

function capture(isTTY: boolean, options: Omit<ProgressOptions, 'stream' | 'clock'> = {}) {
  const out: string[] = [];
  let now = 1_000_000;
  const stream = { write: (s: string) => out.push(s), isTTY, columns: 100 };
  return {
    out,
    /** Lines written (plain mode). */
    lines: () => out.join('').split('\n').filter(Boolean),
    advance: (ms: number) => { now += ms; },
    make: (label: string) => new Progress(label, { ...options, stream, clock: () => now }),
  };
}

describe('progress reporter, not on a terminal', () => {
  it('writes a line per tenth of the work with done/total, rate and time left, then the final one', () => {
    const c = capture(false, { itemName: 'archs' });
    const p = c.make('correlate');
    for (let i = 1; i <= 200; i++) {
      c.advance(100);
      p.update(i, 200);
    }
    const lines = c.lines();
    // 10%, 20%, … 90%, and the final line: never a line per item.
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('correlate: 20/200 (10%) · 10.0 archs/s · 18.0s left');
    expect(lines[8]).toBe('correlate: 180/200 (90%) · 10.0 archs/s · 2.0s left');
    expect(lines[9]).toBe('correlate: 200/200 (100%) · 10.0 archs/s · done in 20.0s');
    // finish() after completion writes only a summary it is given.
    p.finish();
    p.finish('ignored: already finished');
    expect(c.lines()).toHaveLength(10);
  });

  it('writes a line when the interval has passed even without a new tenth', () => {
    const c = capture(false, { lineIntervalMs: 5000 });
    const p = c.make('search');
    c.advance(1000);
    p.update(1, 1000, 'seed 0 step 0');
    expect(c.out).toEqual([]);
    c.advance(5000);
    p.update(2, 1000, 'seed 0 step 1');
    expect(c.lines()).toEqual(['search: 2/1,000 (0%) · 0.33/s · 49m54s left · seed 0 step 1']);
    // Stopped short of the total (a time budget): finish leaves the last state in the log once.
    c.advance(100);
    p.update(3, 1000, 'seed 0 step 2');
    p.finish();
    expect(c.lines()).toHaveLength(2);
    expect(c.lines()[1]).toMatch(/^search: 3\/1,000 \(0%\) · .* left · seed 0 step 2$/);
  });

  it('says when the time left is not known yet, and prints a given summary last', () => {
    const c = capture(false);
    const p = c.make('reading');
    p.update(0, 4);
    c.advance(6000);
    p.update(0, 4);
    p.finish('stopped after 0 records');
    expect(c.lines()).toEqual(['reading: 0/4 (0%) · time left unknown', 'stopped after 0 records']);
  });

  it('counts bytes, and a resumed download neither as speed nor as time left', () => {
    const c = capture(false, { unit: 'bytes' });
    const p = c.make('x.tgz');
    p.restart(50 * 1024 * 1024);
    c.advance(10_000);
    p.update(60 * 1024 * 1024, 100 * 1024 * 1024);
    expect(c.lines()).toEqual(['x.tgz: 60.0 MB / 100 MB (60%) · 1.0 MB/s · 40.0s left']);
  });

  it('prints nothing for a job that never reported progress', () => {
    const c = capture(false);
    c.make('quiet').finish();
    expect(c.out).toEqual([]);
  });
});

describe('progress reporter, on a terminal', () => {
  it('draws a bar in place and leaves the summary as the last line', () => {
    const c = capture(true, { unit: 'bytes' });
    const p = c.make('x.tgz');
    c.advance(1000);
    p.update(512, 2048);
    const drawn = c.out.join('');
    expect(drawn).not.toContain('\n');
    expect(drawn).toContain('x.tgz █████░░░░░░░░░░░░░░░ 512 B / 2.0 KB (25%) · 512 B/s · 3.0s left');
    p.finish('x.tgz: downloaded 2.0 KB');
    expect(c.out.join('').endsWith('x.tgz: downloaded 2.0 KB\n')).toBe(true);
  });

  it('replaces the bar by the final line when the total is reached', () => {
    const c = capture(true, { itemName: 'records' });
    const p = c.make('reading');
    c.advance(1000);
    p.update(1, 3);
    c.advance(1000);
    p.update(3, 3);
    expect(c.out.join('').endsWith('reading: 3/3 (100%) · 1.5 records/s · done in 2.0s\n')).toBe(true);
  });
});

describe('formatting', () => {
  it('bytes and durations', () => {
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(170_498_071)).toBe('163 MB');
    expect(formatDuration(12_345)).toBe('12.3s');
    expect(formatDuration(119_999)).toBe('1m59s');
    expect(formatDuration(3 * 3600_000 + 5 * 60_000)).toBe('3h05m');
  });
});

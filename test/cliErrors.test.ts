/**
 * Failures a user can cause: exit code 2 and one line of at most 200 characters naming the
 * problem, with echoed input cut short and escaped; flag values checked before any work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerArchCommand } from '../src/cli/commands/arch.js';
import { registerCorrelateCommand } from '../src/cli/commands/correlate.js';
import { registerDataCommands } from '../src/cli/commands/data.js';
import { registerScoreCommand } from '../src/cli/commands/score.js';
import { registerSearchCommand } from '../src/cli/commands/search.js';
import { runCli } from '../src/cli/program.js';
import { oneLine, quoteInput } from '../src/util/errors.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';

const DATA = path.resolve(__dirname, '../../shared/data');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-cli-errors-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const emptyDataDir = fs.mkdtempSync(path.join(tmpRoot, 'empty-'));

const all = (program: Command) => {
  registerArchCommand(program);
  registerScoreCommand(program);
  registerCorrelateCommand(program);
  registerSearchCommand(program);
  registerDataCommands(program);
};
const cli = (args: string[]) => runCommandsInProcess(all, args);

function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.trimEnd()).toMatch(pattern);
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0].length).toBeLessThanOrEqual(200);
  // eslint-disable-next-line no-control-regex
  expect(lines[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
}

describe('quoting user input in messages', () => {
  it('quoteInput cuts to a short prefix, notes the length and escapes control characters', () => {
    expect(quoteInput('tss')).toBe('"tss"');
    const q = quoteInput('x'.repeat(100_000));
    expect(q).toBe(`"${'x'.repeat(60)}"… (100,000 characters)`);
    expect(quoteInput('\u001b[31mred\u0000')).toBe('"\\u001b[31mred\\u0000"');
    expect(quoteInput('bell\u0007\u0085')).toBe('"bell\\u0007\\u0085"');
    expect(quoteInput('/a/very/long/path/' + 'd/'.repeat(100) + 'end.csv', { max: 20, tail: true })).toMatch(/^…".*end\.csv" \(\d+ characters\)$/);
  });

  it('oneLine flattens, escapes and caps a message', () => {
    expect(oneLine('first\nsecond\r\n  third')).toBe('first second third');
    expect(oneLine('y'.repeat(500))).toHaveLength(200);
    expect(oneLine('\u001b[2J')).toBe('\\u001b[2J');
  });
});

describe('huge or binary input is never echoed in full', () => {
  const huge = 'q'.repeat(100_000);
  it.each([
    [['arch', '--arch', huge], /--arch "q{60}"… \(100,000 characters\) is not an architecture/],
    [['arch', '--arch', '1', '--space', huge], /--space "q{60}"…/],
    [['arch', '--arch', '1', '--dataset', `\u001b[31m${huge}`], /--dataset "\\u001b\[31mq+"…/],
    [['score', '--arch', '1', '--proxies', `intgrad_param,${huge}`], /--proxies "intgrad_param,q{46}"… \(100,014 characters\)/],
    [['search', '--seed', '9'.repeat(100_000)], /--seed must be an integer from 0 to 4294967295, got "9{60}"…/],
    [['correlate', '--indices', `1,${huge}`], /--indices "q{60}"… \(100,000 characters\) is not an index/],
    [['data', 'fetch', 'cifar10', '--to', tmpRoot, '--url', huge], /"q{60}"… \(100,000 characters\) is not a valid URL/],
  ])('%#: exit 2, one short line', async (args, pattern) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, pattern);
  });

  it('the real entry point prints commander usage errors on one line too', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let code: number;
    let text: string;
    try {
      code = await runCli(['arch', '--arch', '1', `--${'z'.repeat(100_000)}`]);
      text = err.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
    expect(code).toBe(2);
    expectOneLine(text, /^mfnas: unknown option "--z{58}"… \(100,002 characters\) \(run with --help for usage\)$/);
  });
});

describe('flag values are checked before any work', () => {
  // An empty data directory: had the command started, it would fail on the missing data instead.
  const search = (...flags: string[]) => cli(['search', '--data-dir', emptyDataDir, ...flags]);

  it.each([
    [['--time-budget', '-1'], /--time-budget must be greater than 0, got "-1"/],
    [['--time-budget', '0x10'], /--time-budget must be a number, got "0x10"/],
    [['--max-flops', '-5'], /--max-flops must be greater than 0/],
    [['--seed', '1e300'], /--seed must be an integer from 0 to 4294967295, got "1e300"/],
    [['--seed', '-1'], /--seed must be an integer from 0 to 4294967295, got "-1"/],
    [['--seed', '0x1F'], /--seed must be an integer from 0 to 4294967295, got "0x1F"/],
    [['--seed', ''], /--seed must be an integer from 0 to 4294967295, got ""/],
    [['--seed', '4294967296'], /--seed must be an integer from 0 to 4294967295/],
    [['--data-seed', '2.5'], /--data-seed must be an integer from 0 to 4294967295/],
    [['--seed', '4294967295', '--runs', '2'], /--runs 2 from --seed 4294967295 goes past the largest seed 4294967295/],
    [['--population', '1e1'], /--population must be an integer from 2 to 10000, got "1e1"/],
    // Upper bounds keep a search finite; the same schema checks --rerun's result.json (test/rerunHostile.test.ts).
    [['--population', '1000000000'], /^mfnas: --population must be an integer from 2 to 10000, got "1000000000"$/],
    [['--steps', '1000000000000'], /^mfnas: --steps must be an integer from 0 to 100000, got "1000000000000"$/],
    [['--runs', '1000000'], /^mfnas: --runs must be an integer from 1 to 10000, got "1000000"$/],
    [['--batch', '1000000'], /^mfnas: --batch must be an integer from 1 to 4096, got 1000000$/],
    [['--time-budget', '1e9'], /^mfnas: --time-budget must be at most 525600, got "1e9"$/],
  ])('search %j exits 2 naming the flag', async (flags, pattern) => {
    const r = await search(...(flags as string[]));
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, pattern);
  });

  it.each([
    ['redis://u:p%zz@host', /^mfnas: --queue redis:\/\/u:\*\*\*@host:6379\/0: the password has a bad percent-encoding \(not shown\); write % as %25/],
    ['redis://:p%zz@host:6380/1', /the password has a bad percent-encoding \(not shown\)/],
    ['redis://:p%@host', /the password has a bad percent-encoding/],
    ['redis://u%zz:p%zz@host', /^mfnas: --queue redis:\/\/u%zz:\*\*\*@host:6379\/0: the user name has a bad percent-encoding/],
    ['redis://:p%zz@host:70000', /^mfnas: --queue: port 70000 is out of range: give a port from 1 to 65535 \(default 6379\)$/],
    ['redis://:p%zz@[::1]:99999/0', /^mfnas: --queue: port 99999 is out of range/],
    ['redis://:p%zz@host:0', /port 0 is out of range: give a port from 1 to 65535/],
    ['redis://:p%zz@host:6379/db', /the database after the port must be a number from 0 to 9999/],
    ['http://:p%zz@host', /is not a Redis URL/],
    ['redis://:p%zz@host/0?tls=1', /options after \? or # are not supported/],
  ])('search --queue %s exits 2 naming the problem, never the password', async (url, pattern) => {
    const r = await search('--queue', url);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, pattern);
    expect(r.stderr).not.toContain('p%zz:');
    expect(r.stderr.replace(/u%zz:/, '')).not.toMatch(/p%zz|p%@/);
  });

  it('the real entry point prints a bad queue URL on one line, without a stack trace', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let code: number;
    let text: string;
    try {
      code = await runCli(['search', '--data-dir', emptyDataDir, '--queue', 'redis://u:p%zz@host']);
      text = err.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
    expect(code).toBe(2);
    expectOneLine(text, /^mfnas: --queue .*: the password has a bad percent-encoding/);
    expect(text).not.toMatch(/URIError|internal error|p%zz/);
  });

  it('the largest seed is accepted', async () => {
    // It gets past flag parsing and fails only on the (empty) data directory.
    const r = await search('--seed', '4294967295');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/--seed/);
  });

  it.each([
    [['--indices', '5'], /needs at least 2 different architectures, got one/],
    [['--indices', '7,7'], /needs at least 2 different architectures, got the same one repeated/],
  ])('correlate %j is refused before scoring', async (flags, pattern) => {
    const cache = path.join(fs.mkdtempSync(path.join(tmpRoot, 'c-')), 'scores.sqlite');
    const r = await cli(['correlate', '--data-dir', DATA, '--proxies', 'params', '--cache', cache, ...(flags as string[])]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, pattern);
    expect(fs.existsSync(cache)).toBe(false);
  });

  it('an indices file that is a folder is a user error', async () => {
    const r = await cli(['correlate', '--data-dir', DATA, '--proxies', 'params', '--indices-file', tmpRoot]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /--indices-file .* is a folder/);
  });
});

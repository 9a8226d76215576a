/**
 * Every score of every proxy, bit for bit, on fixed TSS and SSS architectures, against values
 * recorded before the network description was rewritten (test/fixtures/goldenScores/README.md).
 * Both engines: the wasm kernels and the native oneDNN ones (setup installs libdnnl-dev).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers/cli.js';

const FIXTURES = path.join(REPO, 'test/fixtures/goldenScores');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mfnas-golden-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CASES = [
  { name: 'tss-cifar10', args: ['--space', 'tss', '--dataset', 'cifar10', '--indices', '0,6111,9930,11457,1462,15624'] },
  { name: 'sss-cifar100', args: ['--space', 'sss', '--dataset', 'cifar100', '--indices', '0,32767,12345,20000,777'] },
];

describe('scores unchanged since they were recorded', { timeout: 300_000 }, () => {
  for (const engine of ['native', 'wasm']) {
    it(`correlate --proxies all --batch 32 on TSS and SSS, ${engine} engine`, async () => {
      const runs = CASES.map(async (c) => {
        const out = path.join(tmp, `${c.name}-${engine}.csv`);
        const r = await runCli(['correlate', ...c.args, '--proxies', 'all', '--batch', '32', '--no-cache', '--out', out, '--json'], { MFNAS_ENGINE: engine });
        expect(r.code, r.stderr).toBe(0);
        return { name: c.name, got: fs.readFileSync(out, 'utf8') };
      });
      for (const { name, got } of await Promise.all(runs)) {
        const want = fs.readFileSync(path.join(FIXTURES, `${name}-${engine}.csv`), 'utf8');
        expect(got, `${name} (${engine})`).toBe(want);
      }
    });
  }
});

/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project (its
 * dependencies from the registry or npm's cache, its native kernels built by its install
 * script), then plain Node imports 'mfnas', and TypeScript type-checks against its types. The
 * README's Library examples are run as written, and a user's script registers a proxy of its own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DATA, REPO } from './helpers/cli.js';

const exec = promisify(execFile);
const work = mkdtempSync(path.join(os.tmpdir(), 'mfnas-package-'));
const project = path.join(work, 'project');
const env = { ...process.env, MFNAS_DATA_DIR: DATA, MFNAS_CACHE: path.join(work, 'scores.sqlite') };

/** Runs a file of the user's project with plain Node; it must exit by itself. */
async function runInProject(file: string): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [file], { cwd: project, env, timeout: 300_000 });
}

/** The ```js blocks of the README's "## Library" section, in order. */
function readmeExamples(): string[] {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library');
  const end = readme.indexOf('\n## ', start + 1);
  const blocks = [...readme.slice(start, end < 0 ? undefined : end).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('README has no ```js example in its Library section');
  return blocks;
}

beforeAll(async () => {
  await exec('npm', ['pack', '--pack-destination', work], { cwd: REPO, timeout: 300_000 });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, type: 'module' }));
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tarball!)], { cwd: project, timeout: 600_000 });
}, 900_000);

describe('the packed package', () => {
  it('imports from plain Node, scores, looks up, searches and exits on its own', async () => {
    writeFileSync(path.join(project, 'use.mjs'), `
import { natsBench, score, search, buildNetwork, PROXY_NAMES, InputError } from 'mfnas';
const bench = await natsBench();
const info = bench.arch('tss', 9930, 'cifar10');
const s = await score({ space: 'tss', dataset: 'cifar10', arch: info.arch, batch: 8, batches: 2, cache: false });
const run = await search({ dataset: 'cifar10', population: 4, tournament: 2, steps: 1, mutations: 1, batch: 8, cache: false, workers: 1 });
const net = buildNetwork('sss', '8:8:8:8:16', 'cifar10');
let refused = '';
try { await score({ arch: 'not-a-cell', cache: false }); } catch (e) { refused = e instanceof InputError ? 'InputError' : String(e); }
console.log(JSON.stringify({ info, s, run, blocks: net.blocks.length, classes: net.classes, proxies: PROXY_NAMES.length, refused }));
`);
    const { stdout, stderr } = await runInProject('use.mjs');
    const o = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(o.info.index).toBe(9930);
    expect(o.info.accuracy).toBeCloseTo(94.36, 1); // data README: 9930 on CIFAR-10
    expect(o.s.index).toBe(9930);
    expect(Number.isFinite(o.s.scores.intgrad_param)).toBe(true);
    expect(Number.isFinite(o.s.scores.intgrad_mean)).toBe(true);
    expect(o.run.evaluated).toBeGreaterThanOrEqual(4);
    expect(typeof o.run.best.arch).toBe('string');
    expect(o.run.best.accuracy).toBeGreaterThan(0);
    expect(o.blocks).toBe(5); // SSS: cell, reduction, cell, reduction, cell
    expect(o.classes).toBe(10);
    expect(o.proxies).toBeGreaterThanOrEqual(9);
    expect(o.refused).toBe('InputError');
    // The engine started by itself, and not as the slow pure-JS backend.
    expect(stderr).not.toMatch(/cpu backend|tfjs-node/i);
  });

  it('type-checks a TypeScript user file against the installed types', async () => {
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: ['use.ts'],
    }));
    writeFileSync(path.join(project, 'use.ts'), `
import { score, search, natsBench, defineProxy, registerProxy, gradientPass, batchMoments, type ScoreResult, type SearchRunResult, type ArchInfo } from 'mfnas';
const mine = registerProxy(defineProxy({
  name: 'mean_abs_gradient', version: 1, minBatches: 1, paper: 'a user', definition: 'mean |g| over every weight',
  pass: gradientPass,
  compute: (g) => g.records.reduce((sum, layer) => sum + batchMoments(layer).meanAbs.reduce((a, b) => a + b, 0), 0),
}));
const r: ScoreResult = await score({ space: 'tss', dataset: 'cifar10', arch: 9930, proxies: ['intgrad_param', 'zico', mine.name] });
const n: number | undefined = r.scores.intgrad_param;
const run: SearchRunResult = await search({ steps: 1, onStep: (rec, acc) => console.log(rec.step, acc) });
const info: ArchInfo = (await natsBench()).arch('sss', '64:64:56:64:24');
console.log(n, run.best.arch, info.params);
`);
    // The user's bad code must not type-check: a proxy whose compute does not fit its pass's
    // product (proxy names are checked at run time, since a script may register its own).
    writeFileSync(path.join(project, 'bad.ts'), `
import { defineProxy, analyticPass } from 'mfnas';
defineProxy({ name: 'bad', version: 1, minBatches: 1, paper: '', definition: '', pass: analyticPass, compute: (g: { records: number[] }) => g.records.length });
`);
    const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
    // @types/node usually arrives with the package's dependencies; else from the repository
    // (a user's TypeScript project has its own).
    const typesNode = path.join(project, 'node_modules/@types/node');
    if (!existsSync(typesNode)) {
      mkdirSync(path.dirname(typesNode), { recursive: true });
      symlinkSync(path.join(REPO, 'node_modules/@types/node'), typesNode);
    }
    await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    writeFileSync(path.join(project, 'tsconfig.bad.json'), readFileSync(path.join(project, 'tsconfig.json'), 'utf8').replace('use.ts', 'bad.ts'));
    const bad = await exec(process.execPath, [tsc, '-p', 'tsconfig.bad.json'], { cwd: project }).then(() => null, (e) => String(e.stdout));
    expect(bad).toMatch(/records/);
  });

  it("runs the README's Library examples as written", async () => {
    const [first, ownProxy] = readmeExamples();
    writeFileSync(path.join(project, 'readme.mjs'), first);
    const { stdout } = await runInProject('readme.mjs');
    expect(stdout).toMatch(/intgrad_param -?\d+\.\d\d/);
    expect(stdout).toMatch(/accuracy 94\.3\d/);
    expect(stdout).toMatch(/found \|.+\| \d+\.\d+/);

    writeFileSync(path.join(project, 'readme-proxy.mjs'), ownProxy);
    const own = (await runInProject('readme-proxy.mjs')).stdout;
    const m = /depth_times_size (\d+) params (\d+)/.exec(own);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(17 * Number(m![2])); // TSS: 17 blocks (15 cells, 2 reductions)
    expect(own).toMatch(/found \|.+\| \d+/);
  });

  it('a plain .mjs registers its own proxy, scores with it and searches with it as a fidelity; its version keys the cache', async () => {
    writeFileSync(path.join(project, 'own-proxy.mjs'), `
import { analyticPass, countParams, defineProxy, registerProxy, score, search, PROXY_NAMES, InputError } from 'mfnas';
const version = Number(process.env.PROXY_VERSION);
let calls = 0;
registerProxy(defineProxy({
  name: 'blocks_times_params', version, minBatches: 1,
  paper: 'a user', definition: 'blocks times parameters, times the version',
  pass: analyticPass,
  compute: (spec) => { calls++; return spec.blocks.length * countParams(spec) * version; },
}));
let clash = '';
try {
  registerProxy(defineProxy({ name: 'zico', version: 1, minBatches: 1, paper: '', definition: '', pass: analyticPass, compute: () => 0 }));
} catch (e) { clash = e instanceof InputError ? e.message : String(e); }
const s = await score({ arch: 9930, proxies: ['blocks_times_params', 'params'], batch: 8 });
const scoreCalls = calls;
// Two workers: the builtins go to worker threads, blocks_times_params stays on this thread.
const run = await search({ dataset: 'cifar10', fidelities: ['blocks_times_params', 'intgrad_param'], population: 4, tournament: 2, steps: 1, mutations: 1, batch: 8, workers: 2 });
console.log(JSON.stringify({ s, scoreCalls, best: run.best, evaluated: run.evaluated, names: PROXY_NAMES, clash }));
`);
    const runWith = async (version: number) => {
      const { stdout } = await exec(process.execPath, ['own-proxy.mjs'], { cwd: project, env: { ...env, PROXY_VERSION: String(version) }, timeout: 300_000 });
      return JSON.parse(stdout.trim().split('\n').pop()!);
    };
    const v1 = await runWith(1);
    expect(v1.s.scores.blocks_times_params).toBe(17 * v1.s.scores.params);
    expect(v1.scoreCalls).toBe(1);
    expect(v1.names.at(-1)).toBe('blocks_times_params');
    expect(v1.clash).toMatch(/zico is a builtin mfnas proxy/);
    expect(v1.evaluated).toBeGreaterThanOrEqual(4);
    expect(v1.best.scores.blocks_times_params).toBeGreaterThan(0);
    expect(Number.isFinite(v1.best.scores.intgrad_param)).toBe(true);
    // The same version again: from the cache, not computed.
    const again = await runWith(1);
    expect(again.scoreCalls).toBe(0);
    expect(again.s.scores).toEqual(v1.s.scores);
    expect(again.best).toEqual(v1.best);
    // A new version: computed afresh, never the old score.
    const v2 = await runWith(2);
    expect(v2.scoreCalls).toBe(1);
    expect(v2.s.scores.blocks_times_params).toBe(2 * v1.s.scores.blocks_times_params);
  });
});

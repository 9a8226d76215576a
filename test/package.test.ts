/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project (its
 * dependencies from the registry or npm's cache, its native kernels built by its install
 * script), then plain Node imports 'mfnas', and TypeScript type-checks against its types. The
 * README's Library example is run as written.
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

/** The first ```js block of the README's "## Library" section. */
function readmeExample(): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README has no ```js example in its Library section');
  return m[1];
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
import { score, search, natsBench, type ScoreResult, type SearchRunResult, type ArchInfo } from 'mfnas';
const r: ScoreResult = await score({ space: 'tss', dataset: 'cifar10', arch: 9930, proxies: ['intgrad_param', 'zico'] });
const n: number | undefined = r.scores.intgrad_param;
const run: SearchRunResult = await search({ steps: 1, onStep: (rec, acc) => console.log(rec.step, acc) });
const info: ArchInfo = (await natsBench()).arch('sss', '64:64:56:64:24');
console.log(n, run.best.arch, info.params);
`);
    // The user's bad call must not type-check: a misspelt proxy name.
    writeFileSync(path.join(project, 'bad.ts'), `
import { score } from 'mfnas';
await score({ arch: 1, proxies: ['intgrad_params'] });
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
    expect(bad).toMatch(/intgrad_params/);
  });

  it("runs the README's Library example as written", async () => {
    writeFileSync(path.join(project, 'readme.mjs'), readmeExample());
    const { stdout } = await runInProject('readme.mjs');
    expect(stdout).toMatch(/intgrad_param -?\d+\.\d\d/);
    expect(stdout).toMatch(/accuracy 94\.3\d/);
    expect(stdout).toMatch(/found \|.+\| \d+\.\d+/);
  });
});

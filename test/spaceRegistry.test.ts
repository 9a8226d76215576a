/**
 * A space a library user registers without any benchmark part — no table, no index, no list of
 * its architectures, no classes, no drawing — works in `score`, `correlate --sample`, `search`
 * (with `maxFlops` holding while sampling and mutating) and `describeArchitecture`; names that
 * clash are refused with one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { score, search } from '../src/api/index.js';
import { registerCorrelateCommand } from '../src/cli/commands/correlate.js';
import type { DatasetRef } from '../src/datasets/registry.js';
import {
  assembleNetwork, bnReluSpec, blockName, cellSpec, convBnSpec, countFlops, networkResolution, reductionSpec, type BlockSpec, type NetworkSpec,
} from '../src/networks/index.js';
import { describeArchitecture } from '../src/report/archInfo.js';
import { sampleArchitectures } from '../src/study/correlate.js';
import { parseArchitecture, parseSpaceName, registerSpace, spaceByName, type SpaceDescription } from '../src/spaces/index.js';
import { SSS_CELL } from '../src/spaces/sss/network.js';
import { parseTssCell } from '../src/spaces/tss/cell.js';
import { InputError } from '../src/util/errors.js';
import type { Rng } from '../src/util/rng.js';
import { DATA } from './helpers/cli.js';
import { runCommandsInProcess } from './helpers/inProcessCli.js';
import { createProxyContext } from '../src/proxies/context.js';
import { createEvaluator } from '../src/scoring/chooseEvaluator.js';

/** Eight widths: the stem, then cell, reduction, cell, cell, reduction, cell, cell around SSS's fixed cell. */
type Widths = readonly number[];
const CHOICES = [8, 16, 24, 32];
const POSITIONS = 8;
const CELL = parseTssCell(SSS_CELL);

function parseWidths(text: string): Widths {
  const w = text.split(':').map(Number);
  if (w.length !== POSITIONS || w.some((c) => !CHOICES.includes(c))) {
    throw new InputError(`malformed widths ${JSON.stringify(text)}: give ${POSITIONS} of ${CHOICES.join('/')} separated by ':'`);
  }
  return w;
}

function widthsNetwork(w: Widths, dataset: DatasetRef): NetworkSpec {
  const resolution = networkResolution(dataset);
  let size = resolution;
  const blocks: BlockSpec[] = [];
  const kinds = ['cell', 'reduction', 'cell', 'cell', 'reduction', 'cell', 'cell'];
  kinds.forEach((kind, i) => {
    if (kind === 'cell') blocks.push(cellSpec(blockName(i), CELL, w[i], w[i + 1], size));
    else { blocks.push(reductionSpec(blockName(i), w[i], w[i + 1], size)); size /= 2; }
  });
  return assembleNetwork('widths', dataset, w.join(':'), convBnSpec('stem', 3, w[0], 3, 1, resolution, false), blocks, bnReluSpec('lastact', w[7], size));
}

const widths: SpaceDescription<Widths> = {
  name: 'widths',
  parse: parseWidths,
  format: (w) => w.join(':'),
  sample: (rng: Rng) => Array.from({ length: POSITIONS }, () => CHOICES[rng.int(CHOICES.length)]),
  mutate: (w, rng) => {
    const out = [...w];
    const i = rng.int(POSITIONS);
    out[i] = CHOICES.filter((c) => c !== w[i])[rng.int(CHOICES.length - 1)];
    return out;
  },
  crossover: (a, b, rng) => a.map((c, i) => (rng.bernoulli(0.5) ? c : b[i])),
  networkSpec: widthsNetwork,
};

const settings = { dataDir: DATA, batch: 8, batches: 1, cache: false as const, workers: 1 };
const ARCH = '16:16:24:24:32:32:16:8';

beforeAll(() => {
  registerSpace(widths);
});

describe('a space registered without benchmark parts', () => {
  it('is found by name and gets the generic stand-ins', () => {
    expect(parseSpaceName(' Widths ')).toBe('widths');
    const space = spaceByName('widths');
    expect(space.indexed).toBe(false);
    expect(space.size).toBeNull();
    expect(space.enumerate).toBeNull();
    expect(space.drawing).toBeNull();
    const a = space.parse(ARCH);
    expect(space.canonical(a)).toBe(ARCH);
    expect(space.representative(a)).toBe(a);
    expect(space.table(null)).toBeNull();
    expect(() => space.fromIndex(3)).toThrow(/widths space has no architecture numbers/);
    // Digits are not taken for an index in a space without one.
    expect(() => parseArchitecture(space, '12')).toThrow(/malformed widths/);
    const info = describeArchitecture({ space: 'widths', dataset: 'cifar10', arch: ARCH, benchmark: null });
    expect(info).toMatchObject({ space: 'widths', index: null, arch: ARCH, canonical: ARCH, accuracy: null });
    expect(info.flops).toBeGreaterThan(0);
  });

  it('scores an architecture', async () => {
    const r = await score({ ...settings, space: 'widths', arch: ARCH, proxies: ['intgrad_param', 'synflow'] });
    expect(r.arch).toBe(ARCH);
    expect(r.index).toBeNull();
    expect(Number.isFinite(r.scores.intgrad_param)).toBe(true);
    expect(Number.isFinite(r.scores.synflow)).toBe(true);
  }, 120_000);

  it('is scored on the calling thread whatever --workers says (worker threads know only the builtins), and never queued', async () => {
    const one = await score({ ...settings, space: 'widths', arch: ARCH, proxies: ['intgrad_param'] });
    const ctx = createProxyContext({ space: 'widths', dataset: 'cifar10', dataDir: DATA, batchSize: 8, batches: 1 });
    const pool = await createEvaluator(ctx, { workers: 2 });
    try {
      const two = await pool.evaluate(ARCH, ['intgrad_param']);
      expect(Object.is(two.scores.intgrad_param, one.scores.intgrad_param)).toBe(true);
    } finally {
      await pool.close();
    }
    await expect(createEvaluator(ctx, { queue: 'redis://127.0.0.1:1' }))
      .rejects.toThrow(/registered by this script, and queue workers know only mfnas's own spaces/);
  }, 120_000);

  it('correlate --sample draws distinct architectures with its sampler and scores them', async () => {
    const drawn = sampleArchitectures(spaceByName('widths'), 6, 3);
    expect(new Set(drawn.map((a) => spaceByName('widths').format(a))).size).toBe(6);
    const args = ['--data-dir', DATA, 'correlate', '--space', 'widths', '--sample', '6', '--seed', '3', '--batch', '8', '--batches', '1',
      '--workers', '1', '--no-cache', '--proxies', 'params,flops', '--json'];
    const r = await runCommandsInProcess(registerCorrelateCommand, args);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.n).toBe(6);
    expect(out.proxies).toEqual({});
    const refused = await runCommandsInProcess(registerCorrelateCommand, ['--data-dir', DATA, 'correlate', '--space', 'widths', '--indices', '1,2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/widths space has no benchmark indices: choose its architectures with --sample N/);
  }, 120_000);

  it('searches within --max-flops, never proposing a candidate over the limit', async () => {
    const space = spaceByName('widths');
    const flops = (arch: string) => countFlops(space.networkSpec(space.parse(arch), 'cifar10'));
    // Half-way between the smallest and the largest network: a good part of the space is over it.
    const small = flops('8:8:8:8:8:8:8:8'), large = flops('32:32:32:32:32:32:32:32');
    const maxFlops = (small + large) / 2;
    const seen: string[] = [];
    const r = await search({
      ...settings, space: 'widths', algorithm: 'mfnas', population: 6, tournament: 3, steps: 2, mutations: 1, maxFlops,
      proxy: 'params', fidelities: ['params', 'flops'], onStep: (rec) => seen.push(rec.answer),
    });
    expect(r.best.index).toBeNull();
    expect(r.best.accuracy).toBeNull();
    expect(r.best.flops).toBeLessThanOrEqual(maxFlops);
    expect(r.evaluated).toBeGreaterThan(6);
    for (const a of seen) expect(flops(a)).toBeLessThanOrEqual(maxFlops);
  }, 120_000);

  it('refuses a limit no architecture meets with one line', async () => {
    const err = await search({ ...settings, space: 'widths', population: 4, tournament: 2, steps: 1, maxFlops: 0.001, fidelities: ['params', 'flops'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).toMatch(/^no widths architecture satisfies the limits on cifar10: none within --max-flops 0\.001 found in 10000 tries .*: raise the limit$/);
    expect(message.split('\n')).toHaveLength(1);
  }, 120_000);

  it('refuses a name or alias that is taken', () => {
    expect(() => registerSpace({ ...widths })).toThrow(/space name 'widths' is already taken by the widths space: choose another name/);
    expect(() => registerSpace({ ...widths, name: 'mine', aliases: ['Topology'] })).toThrow(/space name 'topology' is already taken by the tss space/);
    expect(() => registerSpace({ ...widths, name: 'sss' })).toThrow(InputError);
    expect(() => spaceByName('mine')).toThrow(/unknown search space/);
  });
});

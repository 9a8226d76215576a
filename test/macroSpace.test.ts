/**
 * The NAS-Bench-Macro space (`macro`, issue 23): strings and indices, classes, sampling, the
 * authors' network checked against their table on all 6,561 architectures (parameters exactly;
 * FLOPs exactly up to the stated convention), and a forward + gradient pass and proxy scores on
 * the best class, 22212220.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { score } from '../src/api/index.js';
import { initEngine } from '../src/engine/backend.js';
import {
  countFlops, countParams, gradientParamNames, initNetwork, layerMacs, layerParams, networkLayers,
} from '../src/networks/index.js';
import { blockForwardAt, lossAndGrads, toTensorParams } from '../src/networks/model.js';
import { openNatsBenchTables } from '../src/natsbench/tables.js';
import { macro, parseArchitecture, parseSpaceName, spaceByName } from '../src/spaces/index.js';
import { MACRO_SIZE, type MacroArch } from '../src/spaces/macro/index.js';
import { InputError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

const DATA_DIR = path.resolve(__dirname, '../../shared/data');
const TABLE_FILE = path.join(DATA_DIR, 'nas-bench-macro', 'nas-bench-macro_cifar10.json');
const hasTable = fs.existsSync(TABLE_FILE);
const hasCifar = fs.existsSync(path.join(DATA_DIR, 'cifar-10-batches-bin'));

const ALL: MacroArch[] = [...macro.enumerate!()];

describe('macro: strings, indices, classes', () => {
  it('is registered; parses 8-digit strings and refuses others', () => {
    expect(spaceByName('macro').size).toBe(6561);
    expect(parseSpaceName('NAS-Bench-Macro')).toBe('macro');
    expect(macro.format(macro.parse(' 22212220 '))).toBe('22212220');
    for (const bad of ['2221222', '222122200', '22212223', 'abcdefgh', '']) expect(() => macro.parse(bad)).toThrow(InputError);
    expect(() => macro.validate([0, 1, 2, 0, 1, 2, 0, 3])).toThrow(InputError);
  });

  it('index = the string in base 3: 00000000 = 0, 22222222 = 6560; round trip over all 6,561', () => {
    expect(macro.size).toBe(6561);
    expect(ALL).toHaveLength(MACRO_SIZE);
    expect(macro.indexOf(macro.parse('00000000'))).toBe(0);
    expect(macro.indexOf(macro.parse('22222222'))).toBe(6560);
    expect(macro.indexOf(macro.parse('00000012'))).toBe(5);
    ALL.forEach((a, i) => {
      expect(macro.indexOf(a)).toBe(i);
      expect(macro.format(macro.fromIndex(i))).toBe(macro.format(a));
      expect(macro.parse(macro.format(a))).toEqual(a);
    });
    expect(() => macro.fromIndex(6561)).toThrow(InputError);
    expect(macro.format(parseArchitecture(macro, '6560'))).toBe('22222222');
  });

  it('3,969 classes: stage firsts kept, other identities packed to the back; the representative is in its class', () => {
    // stages 00|102|001 → 00|120|010; 01|001|001 → 01|010|010; 20|122|012 is canonical already
    expect(macro.canonical(macro.parse('00102001'))).toBe('00120010');
    expect(macro.canonical(macro.parse('01001001'))).toBe('01010010');
    expect(macro.canonical(macro.parse('20122012'))).toBe('20122012');
    const classes = new Set(ALL.map((a) => macro.canonical(a)));
    expect(classes.size).toBe(3969);
    for (const a of ALL) {
      const r = macro.representative(a);
      expect(macro.canonical(r)).toBe(macro.canonical(a));
      expect(macro.format(r)).toBe(macro.canonical(a));
      expect(countParams(macro.networkSpec(r, 'cifar10'))).toBe(countParams(macro.networkSpec(a, 'cifar10')));
    }
  });

  it('sample, mutate (one position) and crossover (uniform) stay in the space', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 500; t++) {
      const a = macro.sample(rng), b = macro.sample(rng);
      macro.validate(a);
      const m = macro.mutate(a, rng);
      macro.validate(m);
      expect(m.filter((c, i) => c !== a[i])).toHaveLength(1);
      const c = macro.crossover(a, b, rng);
      macro.validate(c);
      c.forEach((v, i) => expect(v === a[i] || v === b[i]).toBe(true));
    }
  });

  it('draws a row of blocks with kernel, expansion and stride', () => {
    const svg = macro.drawing!(macro.parse('22212220'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('k5 e6');
    expect(svg).toContain('k3 e3');
    expect((svg.match(/data-choice=/g) ?? []).length).toBe(8);
    expect((svg.match(/>s2</g) ?? []).length).toBe(3);
  });
});

describe('macro: the authors\' network against their table', () => {
  it('has the authors\' shape: 32 → 64 → 128 → 256 channels, a stride 2 at each stage\'s first layer, head 1280', () => {
    const spec = macro.networkSpec(macro.parse('00000000'), 'cifar10');
    const layers = networkLayers(spec);
    // stem conv+bn, three 1×1 downsample convs + bn, head conv + bn, classifier
    expect(layers.map((l) => l.name)).toEqual([
      'stem.conv', 'stem.bn', 'cells.0.conv', 'cells.0.bn', 'cells.2.conv', 'cells.2.bn', 'cells.5.conv', 'cells.5.bn',
      'head.conv', 'head.bn', 'classifier',
    ]);
    const dw = networkLayers(macro.networkSpec(macro.parse('20000000'), 'cifar10')).find((l) => l.name === 'cells.0.depthwise')!;
    expect(dw).toMatchObject({ kind: 'conv', cin: 192, cout: 192, groups: 192, k: 5, stride: 2, pad: 2, inSize: 32 });
    expect(layerParams(dw)).toBe(192 * 25);
    expect(layerMacs(dw)).toBe(192 * 25 * 16 * 16);
    expect(initNetwork(macro.networkSpec(macro.parse('20000000'), 'cifar10'), 0).get('cells.0.depthwise.weight')!.shape).toEqual([5, 5, 1, 192]);
  });

  it.skipIf(!hasTable)('parameter counts equal the table\'s for all 6,561; FLOPs equal it up to the classifier\'s bias adds', () => {
    const table = openNatsBenchTables(DATA_DIR).tableOf('macro')!;
    expect(table).not.toBeNull();
    expect(table.size).toBe(6561);
    for (let i = 0; i < MACRO_SIZE; i++) {
      const spec = macro.networkSpec(macro.fromIndex(i), 'cifar10');
      expect(countParams(spec), macro.format(macro.fromIndex(i))).toBe(table.params('cifar10', i));
      // Convention: the table's `flops` are the multiply-adds of every conv (a depthwise one
      // C·k²·Ho·Wo) and the classifier's weights for one 32×32 image; mfnas's FLOPs (NATS-Bench's
      // counting) also count the classifier's 10 bias adds: table = mfnas − classes, exactly.
      const macs = networkLayers(spec).reduce((s, l) => s + layerMacs(l), 0);
      expect(macs - spec.classes).toBe((table as unknown as { flops(i: number): number }).flops(i));
      expect(countFlops(spec)).toBeCloseTo(macs / 1e6, 9);
    }
  });

  it.skipIf(!hasTable)('every class\'s members share the table\'s test_acc triple exactly; accuracy = the triple\'s mean', () => {
    const tables = openNatsBenchTables(DATA_DIR);
    const table = tables.macro!;
    expect(tables.tableOf('macro')).toBe(table); // cached
    const byClass = new Map<string, string>();
    for (let i = 0; i < MACRO_SIZE; i++) {
      const key = macro.canonical(macro.fromIndex(i));
      const runs = table.testAccuracyRuns(i);
      const triple = runs.join(',');
      const seen = byClass.get(key);
      if (seen === undefined) byClass.set(key, triple);
      else expect(triple, `${table.archString(i)} in class ${key}`).toBe(seen);
      expect(table.archString(i)).toBe(macro.format(macro.fromIndex(i)));
      expect(table.testAccuracy('cifar10', i)).toBe((runs[0] + runs[1] + runs[2]) / 3);
      expect(Math.abs(table.testAccuracy('cifar10', i)! - table.meanAcc(i))).toBeLessThan(1e-4);
    }
    expect(byClass.size).toBe(3969);
    expect(table.testAccuracy('cifar100', 0)).toBeNull();
    const best = macro.indexOf(macro.parse('22212220'));
    expect(table.testAccuracy('cifar10', best)).toBeCloseTo(93.13, 2);
    expect(macro.table(tables)).toBe(table);
  });
});

describe('macro: forward, gradients and proxies on 22212220', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('runs a forward + gradient pass at batch 2 on cifar10', () => {
    const spec = macro.networkSpec(macro.parse('22212220'), 'cifar10');
    const p = toTensorParams(initNetwork(spec, 0));
    const rng = new Rng(3);
    const xs = new Float32Array(2 * 32 * 32 * 3);
    for (let i = 0; i < xs.length; i++) xs[i] = rng.normal();
    const x = tf.tensor4d(xs, [2, 32, 32, 3]);
    const names = gradientParamNames(spec);
    const { loss, grads } = lossAndGrads(spec, p, x, Int32Array.from([3, 7]), names);
    expect(Number.isFinite(loss)).toBe(true);
    for (const n of names) {
      const g = grads.get(n)!;
      expect(g.every(Number.isFinite), n).toBe(true);
      expect(g.some((v) => v !== 0), n).toBe(true);
    }
    expect(grads.get('cells.0.depthwise.weight')!.length).toBe(5 * 5 * 192);
    tf.dispose([x, ...p.values()]);
  });

  it('an inverted residual computes the authors\' function (checked against plain tfjs ops, BN off)', () => {
    const spec = macro.networkSpec(macro.parse('21000000'), 'cifar10');
    const p = toTensorParams(initNetwork(spec, 5));
    const rng = new Rng(9);
    const check = (index: number, x: tf.Tensor4D, k: number, stride: number, shortcut: boolean): void => {
      const got = tf.tidy(() => blockForwardAt(spec, p, index, x, { batchNorm: 'none' }));
      const want = tf.tidy(() => {
        const w = (n: string) => p.get(`cells.${index}.${n}.weight`)! as tf.Tensor4D;
        const e = tf.relu(tf.conv2d(x, w('expand'), 1, 'valid'));
        const dwW = w('depthwise');
        const dw = tf.reshape(dwW, [k, k, dwW.shape[3], 1]) as tf.Tensor4D;
        const pad = (k - 1) / 2;
        const d = tf.relu(tf.depthwiseConv2d(tf.pad(e, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), dw, stride, 'valid'));
        const y = tf.conv2d(d, w('project'), 1, 'valid');
        return shortcut ? tf.add(y, x) : y;
      });
      expect(got.shape).toEqual(want.shape);
      const a = got.dataSync(), b = want.dataSync();
      let err = 0, scale = 0;
      for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
      expect(err).toBeLessThan(1e-4 * Math.max(1, scale));
      tf.dispose([got, want]);
    };
    const x0 = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 32 }, () => rng.normal()), [2, 32, 32, 32]);
    check(0, x0, 5, 2, false); // k5 e6, stride 2, 32 → 64
    const x1 = tf.tensor4d(Float32Array.from({ length: 2 * 16 * 16 * 64 }, () => rng.normal()), [2, 16, 16, 64]);
    check(1, x1, 3, 1, true); // k3 e3, stride 1, residual
    tf.dispose([x0, x1, ...p.values()]);
  });

  it.skipIf(!hasCifar)('scores intgrad_param, synflow, naswot and params through score() (batch 8, 1 batch)', async () => {
    const r = await score({
      space: 'macro', dataset: 'cifar10', arch: '22212220', proxies: ['intgrad_param', 'synflow', 'naswot', 'params'],
      batch: 8, batches: 1, cache: false, dataDir: DATA_DIR,
    });
    expect(r.arch).toBe('22212220');
    expect(r.index).toBe(macro.indexOf(macro.parse('22212220')));
    for (const name of ['intgrad_param', 'synflow', 'naswot', 'params']) {
      expect(Number.isFinite(r.scores[name]), `${name} = ${r.scores[name]}`).toBe(true);
    }
    expect(r.scores.params).toBe(1985514);
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { openNatsBenchTables } from '../src/natsbench/tables.js';
import { DATASET_NAMES } from '../src/datasets/registry.js';
import {
  cellSpec, countParams, EDGE_FROM, EDGE_TO, initNetwork, layerParams, NB201_OPS, networkLayers, type BnSpec, type CellSpec,
  type NetworkSpec, type ReductionSpec,
} from '../src/networks/index.js';
import { InputError } from '../src/util/errors.js';
import * as tssCell from '../src/spaces/tss/cell.js';
import { parseTssCell, tssNetworkSpec } from '../src/spaces/tss/index.js';
import { sssFromIndex, formatSssChannels, sssNetworkSpec } from '../src/spaces/sss/index.js';
import { Rng } from '../src/util/rng.js';

const DATA = path.resolve(__dirname, '../../shared/data');
const bench = openNatsBenchTables(DATA);

describe('parameter counts equal NATS-Bench exactly', () => {
  it('all 15,625 TSS cells x 3 datasets', () => {
    const tss = bench.tss!;
    let mismatches = 0;
    for (const ds of DATASET_NAMES) {
      for (let i = 0; i < tss.size; i++) {
        const arch = tss.archString(i);
        const n = countParams(tssNetworkSpec(parseTssCell(arch), ds, arch));
        if (n !== tss.params(ds, i)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('all 32,768 SSS configurations x 3 datasets', () => {
    const sss = bench.sss!;
    let mismatches = 0;
    for (const ds of DATASET_NAMES) {
      for (let i = 0; i < sss.size; i++) {
        const ch = sssFromIndex(i);
        const n = countParams(sssNetworkSpec(ch, ds, formatSssChannels(ch)));
        if (n !== sss.params(ds, i)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('the variables of built networks add up to the table (random sample)', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 12; t++) {
      const ds = rng.choice(DATASET_NAMES);
      if (t % 2 === 0) {
        const i = rng.int(bench.tss!.size);
        const arch = bench.tss!.archString(i);
        const params = initNetwork(tssNetworkSpec(parseTssCell(arch), ds, arch), 0);
        const total = [...params.values()].reduce((s, p) => s + p.data.length, 0);
        expect(total).toBe(bench.tss!.params(ds, i));
      } else {
        const i = rng.int(bench.sss!.size);
        const ch = sssFromIndex(i);
        const params = initNetwork(sssNetworkSpec(ch, ds, formatSssChannels(ch)), 0);
        const total = [...params.values()].reduce((s, p) => s + p.data.length, 0);
        expect(total).toBe(bench.sss!.params(ds, i));
      }
    }
  });
});

describe('seeded initialisation', () => {
  const arch = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const spec = tssNetworkSpec(parseTssCell(arch), 'cifar10', arch);

  it('follows PyTorch defaults: U(±1/√fan_in) for conv/linear, BN γ=1, β=0', () => {
    const params = initNetwork(spec, 0);
    for (const layer of networkLayers(spec)) {
      if (layer.kind === 'bn') {
        expect(params.get(`${layer.name}.gamma`)!.data.every((v) => v === 1)).toBe(true);
        expect(params.get(`${layer.name}.beta`)!.data.every((v) => v === 0)).toBe(true);
        continue;
      }
      const fanIn = layer.kind === 'conv' ? layer.k * layer.k * layer.cin : layer.in;
      const w = params.get(`${layer.name}.weight`)!.data;
      const bound = 1 / Math.sqrt(fanIn);
      let max = 0, sumSq = 0;
      for (const v of w) { max = Math.max(max, Math.abs(v)); sumSq += v * v; }
      expect(max).toBeLessThanOrEqual(bound);
      if (w.length >= 1000) {
        // Var of U(-b, b) = b²/3
        expect(sumSq / w.length).toBeGreaterThan(0.9 * bound * bound / 3);
        expect(sumSq / w.length).toBeLessThan(1.1 * bound * bound / 3);
      }
      expect(layerParams(layer)).toBe(w.length + (layer.kind === 'linear' ? layer.out : 0));
    }
  });

  it('is reproducible per seed and per layer, independent of other layers', () => {
    const a = initNetwork(spec, 5), b = initNetwork(spec, 5), c = initNetwork(spec, 6);
    const name = 'cells.2.edge0.conv.weight';
    expect(a.get(name)!.data).toEqual(b.get(name)!.data);
    expect(a.get(name)!.data).not.toEqual(c.get(name)!.data);
    // The same layer in a different cell gets the same weights: init depends on the layer name only.
    const other = '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|';
    const d = initNetwork(tssNetworkSpec(parseTssCell(other), 'cifar10', other), 5);
    expect(d.get(name)!.data).toEqual(a.get(name)!.data);
  });
});

describe('the network description', () => {
  /** Each BN's H·W as training computed it before BnSpec carried its size: a walk over the blocks. */
  function walkedBnSizes(spec: NetworkSpec): Map<string, number> {
    const m = new Map<string, number>([[spec.stem.bn.name, spec.resolution]]);
    let last = spec.resolution;
    for (const block of spec.blocks) {
      if (block.kind === 'reduction') {
        const r = block as ReductionSpec;
        m.set(r.bnA.name, r.size / 2).set(r.bnB.name, r.size / 2);
        last = r.size / 2;
      } else {
        const cell = block as CellSpec;
        for (const edge of cell.edges) {
          if (edge.impl.kind === 'conv_bn') m.set(edge.impl.bn.name, cell.size);
          else if (edge.impl.kind === 'pool' && edge.impl.pre) m.set(edge.impl.pre.bn.name, cell.size);
        }
        last = cell.size;
      }
    }
    return m.set('lastact.bn', last);
  }

  it('every BN carries the spatial size of the maps it normalises', () => {
    const arch = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|';
    for (const spec of [
      tssNetworkSpec(parseTssCell(arch), 'cifar10', arch), tssNetworkSpec(parseTssCell(arch), 'ImageNet16-120', arch),
      sssNetworkSpec([8, 16, 24, 32, 40], 'cifar100'),
    ]) {
      const bns = networkLayers(spec).filter((l): l is BnSpec => l.kind === 'bn');
      expect(new Map(bns.map((b) => [b.name, b.size]))).toEqual(walkedBnSizes(spec));
    }
  });

  it('the TSS space names the cell block kind\'s ops and edges', () => {
    expect(tssCell.TSS_OPS).toBe(NB201_OPS);
    expect(tssCell.EDGE_FROM).toBe(EDGE_FROM);
    expect(tssCell.EDGE_TO).toBe(EDGE_TO);
  });

  it('a cell of the wrong length or with an unknown op is refused in one line', () => {
    expect(() => cellSpec('c', ['none', 'skip_connect'], 8, 8, 8)).toThrow(InputError);
    expect(() => cellSpec('c', ['none', 'none', 'none', 'none', 'none', 'conv_7x7' as never], 8, 8, 8)).toThrow(/conv_7x7/);
  });
});

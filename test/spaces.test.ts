import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/util/rng.js';
import { InputError } from '../src/util/errors.js';
import {
  EDGE_FROM,
  EDGE_TO,
  TSS_OPS,
  type TssCell,
  allTssCells,
  crossoverTssCell,
  formatTssCell,
  mutateTssCell,
  parseTssCell,
  sampleTssCell,
  tssCellCode,
  tssCellFromCode,
} from '../src/spaces/tss/cell.js';
import { canonicalTss, isZeroCell, liveEdges, pruneDeadEdges, tssLiveness } from '../src/spaces/tss/canonical.js';
import {
  SSS_CHOICES,
  crossoverSssChannels,
  formatSssChannels,
  mutateSssChannels,
  parseSssChannels,
  sampleSssChannels,
  sssFromIndex,
  sssIndexOf,
} from '../src/spaces/sss/channels.js';
import { parseArchitecture, sssSpace, tssSpace, type TssIndexSource } from '../src/spaces/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NATS = path.resolve(here, '../../shared/data/nats-bench');

/** The reference tables, read here with the general CSV parser (independent of src/natsbench). */
function readTable(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(path.join(NATS, file), 'utf8'), { columns: true }) as Record<string, string>[];
}

let tssRows: Record<string, string>[];
let sssRows: Record<string, string>[];
let tableSource: TssIndexSource;

beforeAll(() => {
  tssRows = readTable('nats-tss-test-accuracy-200ep.csv');
  sssRows = readTable('nats-sss-test-accuracy-90ep.csv');
  const byArch = new Map(tssRows.map((r, i) => [r.ArchitectureString, i]));
  tableSource = {
    size: tssRows.length,
    archString: (i) => tssRows[i].ArchitectureString,
    indexOfArch: (s) => byArch.get(s),
  };
});

const CELL_9930 =
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';

function expectInputError(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InputError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

describe('TSS cell strings', () => {
  it('round-trips all 15,625 table strings, which are all distinct valid cells', () => {
    expect(tssRows.length).toBe(15625);
    const codes = new Set<number>();
    const bad: string[] = [];
    for (const row of tssRows) {
      const cell = parseTssCell(row.ArchitectureString);
      if (cell.length !== 6 || formatTssCell(cell) !== row.ArchitectureString) bad.push(row.ArchitectureString);
      codes.add(tssCellCode(cell));
    }
    expect(bad).toEqual([]);
    expect(codes.size).toBe(15625);
    expect(Math.min(...codes)).toBe(0);
    expect(Math.max(...codes)).toBe(15624);
  });

  it('keeps edge order [1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2]', () => {
    const cell = parseTssCell(CELL_9930);
    expect(cell).toEqual(['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_3x3', 'nor_conv_3x3']);
    const c = parseTssCell('|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|');
    expect(c).toEqual(['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3', 'none']);
  });

  it('mixed-radix code is a bijection on 0..15624', () => {
    const all = allTssCells();
    expect(all.length).toBe(15625);
    expect(all.filter((cell, code) => tssCellCode(cell) !== code).length).toBe(0);
    expect(tssCellFromCode(1)).toEqual(['none', 'none', 'none', 'none', 'none', 'skip_connect']);
    expect(new Set(all.map(formatTssCell)).size).toBe(15625);
    expectInputError(() => tssCellFromCode(15625), 'out of range');
  });

  it('rejects malformed strings with clear messages', () => {
    expectInputError(() => parseTssCell('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|'), 'found 2', 'expected 3');
    expectInputError(
      () => parseTssCell('|conv~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
      "unknown op 'conv'",
      TSS_OPS.join(', '),
    );
    expectInputError(
      () => parseTssCell('|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
      "source index '1'",
      'expected ~0',
    );
    expectInputError(
      () => parseTssCell('|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'),
      'node 2 must have 2 input edge(s)',
    );
    expectInputError(() => parseTssCell('nor_conv_3x3~0'), 'expected the form');
    expectInputError(() => parseTssCell('|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|'), 'op~0');
    expectInputError(() => parseTssCell(''), 'malformed TSS cell');
  });
});

describe('TSS index <-> string (table row order)', () => {
  it('maps every index to its table row and back', () => {
    const space = tssSpace(tableSource);
    const bad: number[] = [];
    for (let i = 0; i < tssRows.length; i++) {
      const s = tssRows[i].ArchitectureString;
      if (space.format(space.fromIndex(i)) !== s || space.indexOf(space.parse(s)) !== i) bad.push(i);
    }
    expect(bad).toEqual([]);
    expect(space.format(space.fromIndex(9930))).toBe(CELL_9930);
  });

  it('without a table, index lookups explain how to provide one', () => {
    const space = tssSpace();
    const cell = space.parse(CELL_9930);
    expectInputError(() => space.indexOf(cell), 'NATS-Bench table', '--data-dir', 'MFNAS_DATA_DIR', 'mfnas natsbench import');
    expectInputError(() => space.fromIndex(5), '--data-dir');
    expectInputError(() => parseArchitecture(space, '9930'), 'MFNAS_DATA_DIR');
    // string form still works without a table
    expect(space.format(parseArchitecture(space, CELL_9930))).toBe(CELL_9930);
  });

  it('parseArchitecture accepts strings and indices, rejects out-of-range indices', () => {
    const space = tssSpace(tableSource);
    expect(space.format(parseArchitecture(space, '9930'))).toBe(CELL_9930);
    expect(space.format(parseArchitecture(space, ' 6111 '))).toBe(tssRows[6111].ArchitectureString);
    expect(space.format(parseArchitecture(space, CELL_9930))).toBe(CELL_9930);
    expectInputError(() => parseArchitecture(space, '20000'), 'index 20000 is out of range 0..15624 for tss');
    expectInputError(() => parseArchitecture(space, '15625'), 'out of range 0..15624');
    expectInputError(() => parseArchitecture(space, '-1'), 'out of range');
    expectInputError(() => parseArchitecture(space, 'hello'), 'malformed TSS cell', 'index 0..15624');
    expectInputError(() => parseArchitecture(tssSpace(), '20000'), 'index 20000 is out of range 0..15624 for tss');
  });
});

/**
 * An independent numeric model of a cell: node values are vectors, each op type is a fixed
 * random map with f(0) = 0 (like ReLU→conv→BN at init and average pooling). Cells computing
 * the same function give the same output; a generic change of a live edge changes it.
 */
function makeEvaluator(seed: number): (cell: TssCell) => number[] {
  const rng = new Rng(seed);
  const dim = 4;
  const mats = new Map<string, number[][]>();
  for (const op of ['nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']) {
    mats.set(op, Array.from({ length: dim }, () => Array.from({ length: dim }, () => rng.uniform(-1.5, 1.5))));
  }
  const input = Array.from({ length: dim }, () => rng.uniform(-1, 1));
  return (cell) => {
    const nodes: number[][] = [input];
    for (let j = 1; j <= 3; j++) {
      const acc = new Array(dim).fill(0);
      for (let e = 0; e < 6; e++) {
        if (EDGE_TO[e] !== j) continue;
        const x = nodes[EDGE_FROM[e]];
        const op = cell[e];
        if (op === 'none') continue;
        const y = op === 'skip_connect' ? x : mats.get(op)!.map((row) => Math.tanh(row.reduce((s, w, k) => s + w * x[k], 0)));
        for (let k = 0; k < dim; k++) acc[k] += y[k];
      }
      nodes.push(acc);
    }
    return nodes[3];
  };
}

function close(a: number[], b: number[]): boolean {
  return a.every((v, k) => Math.abs(v - b[k]) < 1e-9);
}

describe('TSS canonical form', () => {
  it('reproduces the UniqueString grouping exactly (6,466 classes)', () => {
    const keyToUnique = new Map<string, string>();
    const uniqueToKey = new Map<string, string>();
    const conflicts: string[] = [];
    for (const row of tssRows) {
      const key = canonicalTss(parseTssCell(row.ArchitectureString));
      const u = row.UniqueString;
      if (!keyToUnique.has(key)) keyToUnique.set(key, u);
      if (!uniqueToKey.has(u)) uniqueToKey.set(u, key);
      if (keyToUnique.get(key) !== u) conflicts.push(`key ${key}: ${keyToUnique.get(key)} vs ${u}`); // a key class spans 2 UniqueStrings
      if (uniqueToKey.get(u) !== key) conflicts.push(`unique ${u}: ${uniqueToKey.get(u)} vs ${key}`); // a UniqueString class spans 2 keys
    }
    expect(conflicts).toEqual([]);
    expect(keyToUnique.size).toBe(6466);
    expect(uniqueToKey.size).toBe(6466);
  });

  it('the key is in fact the NATS-Bench UniqueString itself', () => {
    let mismatches = 0;
    for (const row of tssRows) if (canonicalTss(parseTssCell(row.ArchitectureString)) !== row.UniqueString) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('members of a class compute the same function (numeric model)', () => {
    const evaluate = makeEvaluator(11);
    const firstOutput = new Map<string, number[]>();
    const bad: string[] = [];
    for (const row of tssRows) {
      const cell = parseTssCell(row.ArchitectureString);
      const out = evaluate(cell);
      const key = canonicalTss(cell);
      const prev = firstOutput.get(key);
      if (!prev) firstOutput.set(key, out);
      else if (!close(prev, out)) bad.push(row.ArchitectureString);
    }
    expect(bad).toEqual([]);
  });
});

describe('TSS live edges', () => {
  it('hand-checked examples', () => {
    expect(liveEdges(parseTssCell(CELL_9930))).toEqual([true, true, true, true, true, true]);
    // node 1 feeds only none edges (edge 0 dead); node 2 receives only none (edge 5 dead)
    const c = parseTssCell('|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|');
    expect(liveEdges(c)).toEqual([false, false, false, true, false, false]);
    const l = tssLiveness(c);
    expect(l.nonZero).toEqual([true, true, false, true]);
    expect(l.reachesOutput).toEqual([true, false, true, true]);
    // node 1 = none(0) is zero, so the conv 2<-1 is dead; node 2's other input keeps it alive
    const d = parseTssCell('|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|');
    expect(liveEdges(d)).toEqual([false, true, false, false, false, true]);
    const z = parseTssCell('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|');
    expect(isZeroCell(z)).toBe(true);
    expect(liveEdges(z)).toEqual([false, false, false, false, false, false]);
  });

  it('over all 15,625 cells: dead edges do not matter, each live edge does', () => {
    const evaluate = makeEvaluator(5);
    let liveCount = 0;
    const bad: string[] = [];
    for (const row of tssRows) {
      const cell = parseTssCell(row.ArchitectureString);
      const live = liveEdges(cell);
      const out = evaluate(cell);
      // pruning all dead edges keeps the function
      if (!close(evaluate(pruneDeadEdges(cell)), out)) bad.push(`prune ${row.ArchitectureString}`);
      for (let e = 0; e < 6; e++) {
        if (cell[e] === 'none') {
          if (live[e]) bad.push(`none edge ${e} live in ${row.ArchitectureString}`);
          continue;
        }
        const removed = cell.slice();
        removed[e] = 'none';
        // removing a dead edge keeps the output; removing a live one changes it
        if (close(evaluate(removed), out) !== !live[e]) bad.push(`edge ${e} of ${row.ArchitectureString}`);
        if (live[e]) liveCount++;
      }
      if (isZeroCell(cell) !== close(out, [0, 0, 0, 0])) bad.push(`zero ${row.ArchitectureString}`);
    }
    expect(bad).toEqual([]);
    expect(liveCount).toBeGreaterThan(15625);
  });
});

describe('TSS sampling, mutation, crossover', () => {
  it('sampling is reproducible with a seed and uniform over ops', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 20 }, () => formatTssCell(sampleTssCell(a)));
    expect(Array.from({ length: 20 }, () => formatTssCell(sampleTssCell(b)))).toEqual(xs);
    expect(Array.from({ length: 20 }, () => formatTssCell(sampleTssCell(c)))).not.toEqual(xs);
    const counts = Array.from({ length: 6 }, () => new Map<string, number>());
    const n = 20000;
    const r = new Rng(1);
    for (let i = 0; i < n; i++) sampleTssCell(r).forEach((op, e) => counts[e].set(op, (counts[e].get(op) ?? 0) + 1));
    for (const m of counts) {
      expect(m.size).toBe(5);
      for (const v of m.values()) expect(Math.abs(v / n - 0.2)).toBeLessThan(0.015);
    }
  });

  it('mutation changes exactly one edge to a different op; node groups ~ 1/6, 2/6, 3/6', () => {
    const rng = new Rng(7);
    const n = 60000;
    const nodeCount = [0, 0, 0, 0];
    const edgeCount = new Array(6).fill(0);
    const newOpRank = [0, 0, 0, 0];
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const cell = sampleTssCell(rng);
      const before = cell.slice();
      const child = mutateTssCell(cell, rng);
      if (cell.some((op, e) => op !== before[e])) bad++; // input untouched
      const changed = child.map((op, e) => (op !== cell[e] ? e : -1)).filter((e) => e >= 0);
      if (changed.length !== 1) {
        bad++;
        continue;
      }
      const e = changed[0];
      edgeCount[e]++;
      nodeCount[EDGE_TO[e]]++;
      // rank of the new op among the 4 others, to check uniformity
      const others = TSS_OPS.filter((op) => op !== cell[e]);
      newOpRank[others.indexOf(child[e] as (typeof TSS_OPS)[number])]++;
    }
    expect(bad).toBe(0);
    expect(Math.abs(nodeCount[1] / n - 1 / 6)).toBeLessThan(0.01);
    expect(Math.abs(nodeCount[2] / n - 2 / 6)).toBeLessThan(0.01);
    expect(Math.abs(nodeCount[3] / n - 3 / 6)).toBeLessThan(0.01);
    for (const c of edgeCount) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.01);
    for (const c of newOpRank) expect(Math.abs(c / n - 0.25)).toBeLessThan(0.01);
  });

  it('crossover takes each edge from one of the parents, each with p ~ 0.5', () => {
    const a = parseTssCell('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
    const b = parseTssCell(CELL_9930);
    const rng = new Rng(3);
    const fromA = new Array(6).fill(0);
    const n = 20000;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const child = crossoverTssCell(a, b, rng);
      child.forEach((op, e) => {
        if (op !== a[e] && op !== b[e]) bad++;
        if (op === a[e]) fromA[e]++;
      });
    }
    for (const c of fromA) expect(Math.abs(c / n - 0.5)).toBeLessThan(0.015);
    // random parents: every position equals one of them
    for (let i = 0; i < 2000; i++) {
      const p = sampleTssCell(rng), q = sampleTssCell(rng);
      crossoverTssCell(p, q, rng).forEach((op, e) => {
        if (op !== p[e] && op !== q[e]) bad++;
      });
    }
    expect(bad).toBe(0);
  });
});

describe('SSS', () => {
  it('index arithmetic matches the table Channels column for all 32,768 rows', () => {
    expect(sssRows.length).toBe(32768);
    const bad: number[] = [];
    sssRows.forEach((row, i) => {
      const ok =
        Number(row.Index) === i &&
        sssIndexOf(parseSssChannels(row.Channels)) === i &&
        formatSssChannels(sssFromIndex(i)) === row.Channels;
      if (!ok) bad.push(i);
    });
    expect(bad).toEqual([]);
    expect(formatSssChannels(sssFromIndex(0))).toBe('8:8:8:8:8');
    expect(formatSssChannels(sssFromIndex(1))).toBe('8:8:8:8:16');
    expect(formatSssChannels(sssFromIndex(32767))).toBe('64:64:64:64:64');
    expect(sssIndexOf(parseSssChannels('64:64:56:64:24'))).toBe(32698);
  });

  it('SearchSpace object and parseArchitecture', () => {
    const space = sssSpace();
    expect(space.size).toBe(32768);
    expect(space.format(parseArchitecture(space, '32698'))).toBe('64:64:56:64:24');
    expect(space.indexOf(parseArchitecture(space, '64:64:56:64:24'))).toBe(32698);
    expect(space.canonical(space.parse('8:16:24:32:40'))).toBe('8:16:24:32:40');
    expectInputError(() => parseArchitecture(space, '32768'), 'index 32768 is out of range 0..32767 for sss');
  });

  it('rejects malformed channel strings', () => {
    expectInputError(() => parseSssChannels('8:8:8:8'), 'expected 5', 'found 4');
    expectInputError(() => parseSssChannels('8:8:8:8:12'), "position 5 is '12'", SSS_CHOICES.join(', '));
    expectInputError(() => parseSssChannels('8:8:72:8:8'), "position 3 is '72'");
    expectInputError(() => parseSssChannels('8:8:x:8:8'), "'x'");
    expectInputError(() => parseSssChannels('0:8:8:8:8'), "position 1 is '0'");
  });

  it('sampling is reproducible; mutation changes one position to another value; crossover mixes parents', () => {
    const a = new Rng(9), b = new Rng(9);
    const xs = Array.from({ length: 10 }, () => formatSssChannels(sampleSssChannels(a)));
    expect(Array.from({ length: 10 }, () => formatSssChannels(sampleSssChannels(b)))).toEqual(xs);
    expect(new Set(xs).size).toBeGreaterThan(1);

    const rng = new Rng(2);
    const n = 30000;
    const posCount = new Array(5).fill(0);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const ch = sampleSssChannels(rng);
      const child = mutateSssChannels(ch, rng);
      const changed = child.map((c, p) => (c !== ch[p] ? p : -1)).filter((p) => p >= 0);
      if (changed.length !== 1 || !(SSS_CHOICES as readonly number[]).includes(child[changed[0]])) {
        bad++;
        continue;
      }
      posCount[changed[0]]++;
    }
    expect(bad).toBe(0);
    for (const c of posCount) expect(Math.abs(c / n - 0.2)).toBeLessThan(0.015);

    const p = parseSssChannels('8:8:8:8:8'), q = parseSssChannels('64:64:64:64:64');
    const fromP = new Array(5).fill(0);
    for (let i = 0; i < n; i++) {
      crossoverSssChannels(p, q, rng).forEach((c, k) => {
        if (c !== 8 && c !== 64) bad++;
        if (c === 8) fromP[k]++;
      });
    }
    expect(bad).toBe(0);
    for (const c of fromP) expect(Math.abs(c / n - 0.5)).toBeLessThan(0.015);
  });
});

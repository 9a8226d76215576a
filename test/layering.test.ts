/**
 * The shape of the code, checked: data flows one way between folders (no circle of imports, none
 * climbing back), and nothing outside a space's own folder or a block kind's own file switches on
 * that space's or kind's name — which is what keeps a new space or block kind one folder or file
 * plus one registry line. The NATS-Bench tables and importer (src/natsbench) know their two spaces
 * by name on purpose: they read NATS-Bench's own files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockKindNames } from '../src/networks/blocks/registry.js';
import { spaceByName, spaceNames } from '../src/spaces/index.js';

const SRC = path.resolve(__dirname, '../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

const FILES = sourceFiles(SRC).map((abs) => ({ rel: path.relative(SRC, abs).split(path.sep).join('/'), text: fs.readFileSync(abs, 'utf8') }));

/** Top folder of a file under src/ ('(root)' for src/index.ts). */
function folderOf(rel: string): string {
  const parts = rel.split('/');
  return parts.length === 1 ? '(root)' : parts[0];
}

/** Relative imports of a file (static, re-exports and dynamic `import()`), as paths under src/. */
function importsOf(file: { rel: string; text: string }): string[] {
  const out: string[] = [];
  for (const m of file.text.matchAll(/(?:(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+|import\()['"](\.[^'"]+)['"]/g)) {
    out.push(path.posix.normalize(path.posix.join(path.posix.dirname(file.rel), m[1])));
  }
  return out;
}

/** Folder-level strongly connected components with more than one folder (Tarjan). */
function importCircles(): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const f of FILES) {
    const from = folderOf(f.rel);
    for (const target of importsOf(f)) {
      const to = folderOf(target);
      if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
  }
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++; stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); group.push(w); } while (w !== v);
      if (group.length > 1) circles.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return circles;
}

/** Lines that compare with, or branch on, one of `names` as a string literal. */
function switchesOn(names: readonly string[], text: string): string[] {
  const alt = names.map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|');
  const pattern = new RegExp(`(?:===|!==|==|!=)\\s*['"](?:${alt})['"]|['"](?:${alt})['"]\\s*(?:===|!==|==|!=)|case\\s+['"](?:${alt})['"]`);
  return text.split('\n').filter((line) => pattern.test(line)).map((line) => line.trim());
}

describe('layering', () => {
  it('no circle of imports between the folders of src/', () => {
    expect(importCircles()).toEqual([]);
  });

  it('networks/ stands below spaces/, and neither reaches up into the layers that use them', () => {
    const above = ['proxies', 'search', 'report', 'export', 'train', 'scan', 'scoring', 'study', 'cli', 'api', 'queue', 'natsbench'];
    const offenders = FILES.filter((f) => ['networks', 'spaces'].includes(folderOf(f.rel)))
      .flatMap((f) => importsOf(f).filter((t) => above.includes(folderOf(t)) || (folderOf(f.rel) === 'networks' && folderOf(t) === 'spaces'))
        .map((t) => `${f.rel} imports ${t}`));
    expect(offenders).toEqual([]);
  });

  it('no file outside a space\'s own folder switches on its name or aliases (NATS-Bench\'s reader aside)', () => {
    const offenders: string[] = [];
    for (const name of spaceNames()) {
      const names = [name, ...spaceByName(name).aliases];
      for (const f of FILES) {
        if (f.rel.startsWith(`spaces/${name}/`) || f.rel.startsWith('natsbench/')) continue;
        for (const line of switchesOn(names, f.text)) offenders.push(`${f.rel}: ${line}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no file outside src/networks/blocks switches on a block kind\'s name', () => {
    const names = blockKindNames();
    expect(names.length).toBeGreaterThanOrEqual(4);
    const offenders = FILES.filter((f) => !f.rel.startsWith('networks/blocks/'))
      .flatMap((f) => switchesOn(names, f.text).filter((line) => /\bkind\b|case /.test(line)).map((line) => `${f.rel}: ${line}`));
    expect(offenders).toEqual([]);
  });

  it('the checks see a switch when there is one', () => {
    expect(switchesOn(['tss'], "if (space === 'tss') return 1;")).toHaveLength(1);
    expect(switchesOn(['tss'], "    case 'tss': return 1;")).toHaveLength(1);
    expect(switchesOn(['tss'], "const s = 'tss';")).toHaveLength(0);
  });
});

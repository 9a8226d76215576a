/**
 * The readable output of the commands (without --json): aligned tables and rounded numbers —
 * accuracy to 2 decimals, seconds to 1, FLOPs and parameters in millions. --json prints the
 * exact values instead.
 */

import { fmtAccuracy, fmtMillions, fmtParamsM, fmtScore, fmtSeconds } from '../report/format.js';

export { fmtAccuracy, fmtMillions, fmtParamsM, fmtScore, fmtSeconds };

export type Align = 'left' | 'right';

/** A number cell: right-aligned in `table`. */
const NUMERIC = /^[+-]?[\d,.]+(e[+-]?\d+)?\s*%?$|^–$/i;

/**
 * Columns padded to their widest cell, two spaces apart; numbers right-aligned, text left
 * (or as `align` says). Every line is indented by `indent`.
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, opts: { align?: readonly Align[]; indent?: string } = {}): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => [...(r[c] ?? '')].length)));
  const align = header.map((_, c) => opts.align?.[c] ?? (rows.length > 0 && rows.every((r) => NUMERIC.test(r[c] ?? '')) ? 'right' : 'left'));
  const line = (r: readonly string[]) => (opts.indent ?? '') + r.map((cell, c) => {
    const pad = ' '.repeat(widths[c] - [...(cell ?? '')].length);
    return align[c] === 'right' ? pad + cell : c === r.length - 1 ? cell : cell + pad;
  }).join('  ').trimEnd();
  return all.map(line).join('\n') + '\n';
}

/** `key  value` lines with the keys padded to one width. */
export function keyValues(pairs: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

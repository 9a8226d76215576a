/**
 * The NATS-Bench topology search space (TSS = NAS-Bench-201 cells), MFNAS.md §1.
 *
 * TSS indices are NATS-Bench's own order, which only the benchmark table knows (row order of
 * nats-tss-test-accuracy-200ep.csv): `tss` alone can do everything except `indexOf` /
 * `fromIndex`, which then throw an InputError explaining how to provide the table;
 * `tss.withBenchmark(b)` (or `tssSpace(table)`) reads the order from the table.
 */
import { InputError } from '../../util/errors.js';
import { completeSpace } from '../complete.js';
import { checkIndexRange, type BenchTable, type SpaceDefinition, type SpaceDescription } from '../types.js';
import { canonicalTss, tssRepresentative } from './canonical.js';
import {
  allTssCells, checkCell, crossoverTssCell, EDGE_FROM, EDGE_TO, formatTssCell, mutateTssCell, parseTssCell,
  sampleTssCell, TSS_SIZE, type TssCell,
} from './cell.js';
import { cellDiagram } from './drawing.js';
import { tssNetworkSpec } from './network.js';

export * from './cell.js';
export * from './canonical.js';
export * from './network.js';

/**
 * What the TSS index order needs from a benchmark table: its rows in NATS-Bench order, as cell
 * strings (natsbench's `TssTable` fits).
 */
export interface TssIndexSource {
  readonly size: number;
  /** Cell string of a NATS-Bench index. */
  archString(index: number): string;
  /** NATS-Bench index of a cell string (exact `formatTssCell` form), undefined if unknown. */
  indexOfArch(arch: string): number | undefined;
}

function isIndexSource(table: BenchTable | null | undefined): table is BenchTable & TssIndexSource {
  return !!table && typeof (table as Partial<TssIndexSource>).archString === 'function' &&
    typeof (table as Partial<TssIndexSource>).indexOfArch === 'function';
}

function tableNeeded(): InputError {
  return new InputError(
    'TSS architecture indices follow NATS-Bench\'s own order, which needs the NATS-Bench table ' +
      'of TSS (nats-bench/nats-tss-test-accuracy-200ep.csv): point --data-dir (or MFNAS_DATA_DIR) at a data ' +
      'directory that contains it, or create it with `mfnas natsbench import`; or give the cell string instead of the index',
  );
}

/** The TSS definition with its index order from `table` (none: indices throw). */
export function tssSpace(table?: TssIndexSource | null): SpaceDefinition<TssCell> {
  return completeSpace(tssDescription(table));
}

/** What the TSS folder registers: the space with its index order from `table` (none: indices throw). */
export function tssDescription(table?: TssIndexSource | null): SpaceDescription<TssCell> {
  if (table && table.size !== TSS_SIZE) {
    throw new InputError(`a TSS benchmark table must have ${TSS_SIZE} architectures, this one has ${table.size}`);
  }
  return {
    name: 'tss',
    aliases: ['topology'],
    parse: parseTssCell,
    format: formatTssCell,
    validate: checkCell,
    index: {
      size: TSS_SIZE,
      available: !!table,
      indexOf(cell) {
        const text = formatTssCell(cell);
        if (!table) throw tableNeeded();
        const index = table.indexOfArch(text);
        if (index === undefined) throw new Error(`cell ${text} is missing from the TSS table`);
        return index;
      },
      fromIndex(index) {
        checkIndexRange(index, TSS_SIZE, 'tss');
        if (!table) throw tableNeeded();
        return parseTssCell(table.archString(index));
      },
    },
    canonical: canonicalTss,
    representative: tssRepresentative,
    sample: sampleTssCell,
    mutate: mutateTssCell,
    crossover: crossoverTssCell,
    enumerate: allTssCells,
    networkSpec: (cell, dataset) => tssNetworkSpec(cell, dataset),
    drawing: (cell) => cellDiagram(cell.map((op, e) => ({ from: EDGE_FROM[e], to: EDGE_TO[e], op }))),
    withBenchmark(tables) {
      const t = tables?.tableOf('tss');
      return tssDescription(isIndexSource(t) ? t : null);
    },
  };
}

export const tss: SpaceDefinition<TssCell> = tssSpace(null);

/**
 * The NATS-Bench topology search space (TSS = NAS-Bench-201 cells), MFNAS.md §1.
 *
 * TSS indices are NATS-Bench's own order, which only the benchmark table knows (row order of
 * nats-tss-test-accuracy-200ep.csv): `tss` alone can do everything except `indexOf` /
 * `fromIndex`, which then throw an InputError explaining how to provide the table;
 * `tss.withBenchmark(b)` (or `tssSpace(table)`) reads the order from the table.
 */
import { TSS_ACCURACY_FILE, type TssTable } from '../../natsbench/tables.js';
import { InputError } from '../../util/errors.js';
import { checkIndexRange, type SpaceDefinition } from '../types.js';
import { canonicalTss, tssRepresentative } from './canonical.js';
import {
  allTssCells, checkCell, crossoverTssCell, EDGE_FROM, EDGE_TO, formatTssCell, mutateTssCell, parseTssCell,
  sampleTssCell, TSS_SIZE, type TssCell,
} from './cell.js';
import { tssNetworkSpec } from './network.js';

export * from './cell.js';
export * from './canonical.js';
export * from './network.js';

/** What the TSS index order needs from a benchmark table (a full `TssTable` fits). */
export type TssIndexSource = Pick<TssTable, 'size' | 'archString' | 'indexOfArch'>;

function tableNeeded(): InputError {
  return new InputError(
    'TSS architecture indices follow NATS-Bench\'s own order, which needs the NATS-Bench table ' +
      `nats-bench/${TSS_ACCURACY_FILE}: point --data-dir (or MFNAS_DATA_DIR) at a data ` +
      'directory that contains it, or create it with `mfnas natsbench import`; or give the cell string instead of the index',
  );
}

/** The TSS definition with its index order from `table` (none: indices throw). */
export function tssSpace(table?: TssIndexSource | null): SpaceDefinition<TssCell> {
  if (table && table.size !== TSS_SIZE) {
    throw new InputError(`a TSS benchmark table must have ${TSS_SIZE} architectures, this one has ${table.size}`);
  }
  return {
    name: 'tss',
    aliases: ['topology'],
    size: TSS_SIZE,
    parse: parseTssCell,
    format: formatTssCell,
    validate: checkCell,
    indexed: !!table,
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
    canonical: canonicalTss,
    representative: tssRepresentative,
    sample: sampleTssCell,
    mutate: mutateTssCell,
    crossover: crossoverTssCell,
    enumerate: allTssCells,
    networkSpec: (cell, dataset) => tssNetworkSpec(cell, dataset),
    drawing: (cell) => ({ kind: 'cell', edges: cell.map((op, e) => ({ from: EDGE_FROM[e], to: EDGE_TO[e], op })) }),
    tableFile: TSS_ACCURACY_FILE,
    table: (benchmark) => benchmark?.tss ?? null,
    withBenchmark: (benchmark) => tssSpace(benchmark?.tss ?? null),
  };
}

export const tss: SpaceDefinition<TssCell> = tssSpace(null);

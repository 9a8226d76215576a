/**
 * The one CSV writer of mfnas (search histories, correlation rows, the NATS-Bench tables), so
 * that every file quotes and formats cells the same way and reads back with csv-parse.
 *
 * Cells: a number is written as `String(n)` (csv-stringify's default cast; NaN and ±Infinity
 * as such), null/undefined as an empty cell; a field is quoted when it holds a comma, a quote or
 * a line break. Lines end with "\n", the last one too.
 */
import { stringify } from 'csv-stringify/sync';

export type CsvCell = string | number | null | undefined;

export interface CsvOptions {
  /** Quote fields matching this too (e.g. /\|/ for files whose readers expect quoted TSS cells). */
  quoteAlso?: RegExp;
}

export function toCsv(rows: ReadonlyArray<ReadonlyArray<CsvCell>>, options: CsvOptions = {}): string {
  return stringify(rows as CsvCell[][], {
    record_delimiter: '\n',
    // Off by default once record_delimiter is given; without it a field holding a bare "\r"
    // would be written unquoted and csv-parse would end the record there.
    quote_record_delimiter: true,
    quoted_match: options.quoteAlso ?? null,
  });
}

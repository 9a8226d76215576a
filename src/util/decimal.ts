/**
 * Numbers written as plain decimal text, as Python, CSV writers and users type them ("85.86",
 * "-1", "1e-05"). JS's Number() also accepts "0x1F", "0b1", "Infinity", "" and " ", which in a
 * table or a flag are mistakes, not numbers.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** The value of a decimal number (surrounding blanks ignored), or NaN. */
export function parseDecimal(text: string): number {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : NaN;
}

/** The value of a decimal integer written without exponent or point, or NaN. */
export function parseDecimalInteger(text: string): number {
  const t = text.trim();
  return INTEGER.test(t) ? Number(t) : NaN;
}

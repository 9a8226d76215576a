/**
 * Errors that reach a user. Anything thrown as an `MfnasError` is printed by the CLI as one
 * line (no stack trace) and exits with code 2; the message names the problem and the fix.
 * Any other exception is a bug and keeps its stack.
 */
export class MfnasError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'MfnasError';
  }
}

/** Bad input from the user: unknown architecture, dataset, flag value, … */
export class InputError extends MfnasError {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A file that is missing, truncated or of the wrong format. */
export class DataError extends MfnasError {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export function isMfnasError(e: unknown): e is MfnasError {
  return e instanceof MfnasError;
}

/** Longest line the CLI prints for an error, prefix included. */
export const MAX_ERROR_LINE = 200;

/**
 * Escape what a terminal would interpret or hide (control characters, lone surrogates, line
 * and paragraph separators), so that input echoed in a message can neither span several lines
 * nor inject escape sequences.
 */
export function escapeUnprintable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * User input for an error message: JSON-quoted and escaped, cut to `max` characters with its
 * length noted, so that a 100 KB argument or a file of raw bytes never floods the terminal.
 * `tail` keeps the end instead (for paths, whose last components say the most).
 */
export function quoteInput(value: unknown, { max = 60, tail = false }: { max?: number; tail?: boolean } = {}): string {
  const text = typeof value === 'string' ? value : String(value);
  if (text.length <= max) return escapeUnprintable(JSON.stringify(text));
  const part = tail ? text.slice(text.length - max) : text.slice(0, max);
  const quoted = escapeUnprintable(JSON.stringify(part));
  const more = `(${text.length.toLocaleString('en-US')} characters)`;
  return tail ? `…${quoted} ${more}` : `${quoted}… ${more}`;
}

/** A path given by the user, quoted for a message (keeps its end). */
export function quotePath(p: string): string {
  return quoteInput(p, { max: 80, tail: true });
}

/**
 * One printable line of at most `max` characters: the last line of defence for messages that
 * embed text from files or libraries which were not quoted with `quoteInput`.
 */
export function oneLine(message: string, max = MAX_ERROR_LINE): string {
  const flat = escapeUnprintable(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  if (flat.length <= max) return flat;
  const end = /[\ud800-\udbff]/.test(flat[max - 2]) ? max - 2 : max - 1; // never split a surrogate pair
  return `${flat.slice(0, end)}…`;
}

/** `text` cut to at most `max` characters at a word boundary, with "…" when cut. */
export function clipAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.search(/\s\S*$/);
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The line the CLI prints for a user error (src/cli/program.ts). */
export function errorLine(message: string): string {
  return `mfnas: ${oneLine(message, MAX_ERROR_LINE - 'mfnas: '.length)}\n`;
}

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

/** The shape every user error must have: exit code 2, one line, no stack trace, and the expected message. */
import { expect } from 'vitest';

export function expectOneLineError(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).toMatch(message);
}

/** `expectOneLineError` of a run made with a deadline (`runCliWithin`): it also must not have hung. */
export function expectOneLineErrorInTime(r: { code: number | null; stderr: string; hung: boolean }, message: RegExp): void {
  expect(r.hung, 'the command hung').toBe(false);
  expectOneLineError(r, message);
}

/** The error `f` throws (null when it returns). */
export function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}

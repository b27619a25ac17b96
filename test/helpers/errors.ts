import { expect } from 'vitest';
import { HwgenError } from '../../src/errors.js';

/** Expects `f` to throw a HwgenError (the clear kind, not a crash) whose message matches `pattern`. */
export function expectHwgenError(f: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(HwgenError);
  expect((caught as Error).message).toMatch(pattern);
}

/**
 * The one error type hwgen raises for bad input. Its message says what is wrong, where, and what to do;
 * the CLI prints it without a stack trace and exits with `exitCode`.
 */
export class HwgenError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'HwgenError';
    this.exitCode = exitCode;
  }
}

/** Throws a HwgenError naming `where` unless `cond` holds. */
export function check(cond: unknown, where: string, message: string): asserts cond {
  if (!cond) throw new HwgenError(`${where}: ${message}`);
}

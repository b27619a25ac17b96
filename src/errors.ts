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


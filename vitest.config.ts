import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'host/**/*.test.ts', 'sim/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // vitest's default is one worker per core less one: a single worker on a 2-core machine. Most files wait on
    // child processes (the CLI, Verilator builds and models, yosys), so two at a time finish sooner.
    maxWorkers: 2,
  },
});

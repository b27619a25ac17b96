import type { Progress } from './target.js';

/**
 * Long steps on a terminal: "[2] synthesizing with yosys for xc7z020clg400-1 … 14.2 s". Steps run tools
 * synchronously, so the line is written when a step starts and finished with its time when the next begins.
 */
export function terminalProgress(out: NodeJS.WriteStream = process.stderr): Progress {
  let n = 0;
  let started: number | undefined;
  const finish = () => {
    if (started !== undefined) out.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    started = undefined;
  };
  return {
    step(what) {
      finish();
      out.write(`[${++n}] ${what} …`);
      started = performance.now();
    },
    done: finish,
  };
}

/** No output: with --json, or when stderr is not a terminal. */
export const quietProgress: Progress = { step() {}, done() {} };

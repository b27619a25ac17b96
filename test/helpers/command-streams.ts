import { expect } from 'vitest';
import { ALL_PES, OP, STATUS, addressWord, header, parseStatus } from '../../src/protocol/command-set.js';
import { randInt } from './random.js';

/**
 * Random command streams for fuzzing an engine's decoder: mostly valid opcodes and memories with random
 * counts, addresses, PEs and data, some unknown opcodes and memory codes. `runCount` gives a RUN's layer
 * count, or undefined to leave that RUN out (garbage layers can take long).
 */
export function randomCommands(
  r: () => number,
  opts: { mems: number[]; itemWords: (mem: number) => number; maxCount: number; runCount: () => number | undefined },
): { words: number[]; ops: number[] } {
  const words: number[] = [];
  const ops: number[] = [];
  for (let n = 0; n < 60; n++) {
    const known = Object.values(OP);
    const op = r() < 0.05 ? randInt(r, Math.max(...known) + 1, 255) : known[randInt(r, 0, known.length - 1)];
    const layers = op === OP.RUN ? opts.runCount() : 0;
    if (layers === undefined) continue;
    const mem = r() < 0.8 ? opts.mems[randInt(r, 0, opts.mems.length - 1)] : randInt(r, 0, 255);
    const count = op === OP.RUN ? layers : randInt(r, 0, opts.maxCount);
    ops.push(op);
    words.push(header(op, mem, count));
    if (op === OP.WRITE || op === OP.READ || op === OP.CHECKSUM) {
      words.push(addressWord(r() < 0.1 ? ALL_PES : randInt(r, 0, 5), r() < 0.2 ? randInt(r, 0, 0xffffff) : randInt(r, 0, 64)));
    }
    if (op === OP.WRITE) for (let k = 0; k < count * opts.itemWords(mem); k++) words.push(Math.floor(r() * 2 ** 32));
  }
  return { words, ops };
}

/** One answer per command, in order: a status word for that opcode, then exactly the data words it announces. */
export function expectEveryCommandAnswered(out: Uint32Array, ops: number[], where: string): void {
  let at = 0;
  for (const op of ops) {
    const st = parseStatus(out[at]);
    expect(st.op, where).toBe(op);
    expect([STATUS.OK, STATUS.BAD_OPCODE, STATUS.BAD_MEM, STATUS.BAD_ADDR]).toContain(st.status);
    at += 1 + st.count;
  }
  expect(at).toBe(out.length);
}

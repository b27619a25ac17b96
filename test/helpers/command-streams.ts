import { expect } from 'vitest';
import { ALL_PES, OP, STATUS, addressWord, header, parseStatus } from '../../src/protocol/command-set.js';
import { checksumOf } from '../../src/protocol/command-words.js';
import { randInt } from './random.js';

/**
 * Random command streams for fuzzing an engine's decoder: mostly valid opcodes and memories with random
 * counts, addresses, PEs and data, some unknown opcodes and memory codes. `runCount` gives a RUN's layer
 * count, or undefined to leave that RUN out (garbage layers can take long). Every READ is followed by a
 * CHECKSUM of the same range, which must answer the CRC of the READ's words (or be refused the same way);
 * adding it draws no random numbers.
 */
export function randomCommands(
  r: () => number,
  opts: { mems: number[]; itemWords: (mem: number) => number; maxCount: number; runCount: () => number | undefined },
): { words: number[]; ops: number[] } {
  const words: number[] = [];
  const ops: number[] = [];
  for (let n = 0; n < 60; n++) {
    const op = r() < 0.05 ? randInt(r, OP.CHECKSUM + 1, 255) : [OP.NOP, OP.WRITE, OP.READ, OP.RUN, OP.STATS][randInt(r, 0, 4)];
    const layers = op === OP.RUN ? opts.runCount() : 0;
    if (layers === undefined) continue;
    const mem = r() < 0.8 ? opts.mems[randInt(r, 0, opts.mems.length - 1)] : randInt(r, 0, 255);
    const count = op === OP.RUN ? layers : randInt(r, 0, opts.maxCount);
    ops.push(op);
    words.push(header(op, mem, count));
    if (op === OP.WRITE || op === OP.READ) {
      words.push(addressWord(r() < 0.1 ? ALL_PES : randInt(r, 0, 5), r() < 0.2 ? randInt(r, 0, 0xffffff) : randInt(r, 0, 64)));
    }
    if (op === OP.WRITE) for (let k = 0; k < count * opts.itemWords(mem); k++) words.push(Math.floor(r() * 2 ** 32));
    if (op === OP.READ) {
      ops.push(OP.CHECKSUM);
      words.push(header(OP.CHECKSUM, mem, count), words.at(-1)!);
    }
  }
  return { words, ops };
}

/** One answer per command, in order: a status word for that opcode, then exactly the data words it announces. */
export function expectEveryCommandAnswered(out: Uint32Array, ops: number[], where: string): void {
  let at = 0;
  let read: { status: number; data: Uint32Array } | undefined;
  for (const op of ops) {
    const st = parseStatus(out[at]);
    expect(st.op, where).toBe(op);
    expect([STATUS.OK, STATUS.BAD_OPCODE, STATUS.BAD_MEM, STATUS.BAD_ADDR]).toContain(st.status);
    const data = out.subarray(at + 1, at + 1 + st.count);
    if (op === OP.CHECKSUM) {
      // the READ just before, of the same range: refused alike, or folded to the same CRC
      expect(st.status, where).toBe(read!.status);
      if (st.status === STATUS.OK) expect([...data], where).toEqual([checksumOf(read!.data)]);
    }
    read = op === OP.READ ? { status: st.status, data } : undefined;
    at += 1 + st.count;
  }
  expect(at).toBe(out.length);
}

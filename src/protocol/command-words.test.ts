import { describe, expect, it } from 'vitest';
import { gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { compressModel } from '../compress/compress.js';
import { configForBundle } from '../engines/eie/config.js';
import { inputCommands, loadCommands, readCommands } from '../engines/eie/image.js';
import { DEFAULT_NUMERIC } from '../model/types.js';
import { MEM, OP, addressWord, header, parseAddress, parseHeader } from './command-set.js';
import { packCommands, readWalking, splitCommand, writeCommands, type Command } from './command-words.js';

/** What a command does, item by item: the cells it writes (with their words) or reads, in order. */
function cells(cmds: Command[]): string[] {
  return cmds.flatMap((c) => {
    const { mem, count } = parseHeader(c.words[0]);
    if (c.op !== OP.WRITE && c.op !== OP.READ) return [`op ${c.op} ${c.words.join(',')}`];
    const { pe, addr } = parseAddress(c.words[1]);
    const iw = c.op === OP.WRITE ? (c.words.length - 2) / count : c.respWords / count;
    return Array.from({ length: count }, (_, i) => {
      const at = c.walk ? `elem ${addr * c.walk + pe + i}` : `pe ${pe} addr ${addr + i}`;
      return `${c.op === OP.WRITE ? 'w' : 'r'} mem ${mem} ${at} ${c.op === OP.WRITE ? c.words.slice(2 + i * iw, 2 + (i + 1) * iw).join(',') : iw}`;
    });
  });
}

describe('commands split and packed into frames', () => {
  it('do exactly what the originals do, every frame within its words and its answers', () => {
    const r = rng(5);
    for (let trial = 0; trial < 20; trial++) {
      const rows = randInt(r, 3, 40);
      const cols = randInt(r, 2, 50);
      const layers = [{ name: 'a', rows, cols, weight: gaussianMatrix(r, rows * cols), bias: gaussianMatrix(r, rows), relu: false }];
      const pes = randInt(r, 1, 5);
      const { bundle } = compressModel({ source: 't', layers }, { density: 0.6, bits: 4, sparse: { pes, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
      const c = configForBundle(bundle);
      const cmds = [
        ...loadCommands(bundle, c),
        ...inputCommands(new Int32Array(cols).fill(3), c),
        ...readCommands(rows, c),
        // multi-word items read from a flat memory (as the XNOR units' bit vectors)
        { op: OP.READ, respWords: 3 * 9, words: [header(OP.READ, MEM.XBITS, 9), addressWord(0, 5)] },
        ...writeCommands(MEM.ACT, 0, 0, Array.from({ length: 23 }, (_, i) => [i]), 3),
        ...readWalking(MEM.ACT, 31, 4),
      ];
      for (const max of [4, 7, 16, 61, 256]) {
        const frames = packCommands(cmds, max);
        for (const f of frames) {
          expect(f.reduce((n, x) => n + x.words.length, 0)).toBeLessThanOrEqual(max);
          expect(f.reduce((n, x) => n + 1 + x.respWords, 0)).toBeLessThanOrEqual(max);
        }
        expect(cells(frames.flat())).toEqual(cells(cmds));
      }
    }
  });

  it('leaves a command that fits alone, and refuses an item larger than a frame', () => {
    const run = { op: OP.RUN, respWords: 1, words: [header(OP.RUN, 0, 2)] };
    expect(splitCommand(run, 2)).toEqual([run]);
    const wide = writeCommands(MEM.SPMAT, 0, 0, [[1, 2, 3, 4]]);
    expect(() => packCommands(wide, 5)).toThrow(/a 4-word item does not fit a 5-word frame/);
  });
});

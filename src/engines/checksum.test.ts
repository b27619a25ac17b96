import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, rng } from '../../test/helpers/random.js';
import { compressModel } from '../compress/compress.js';
import { binarizeModel } from '../compress/binarize.js';
import { type AnyBundle, type BatchNorm, type FloatLayer } from '../model/types.js';
import { ALL_PES, MEM, OP, STATUS, addressWord, header, parseAddress, parseHeader, parseStatus } from '../protocol/command-set.js';
import { checksumCommand, checksumOf, runCommand, splitResponses, type Command } from '../protocol/command-words.js';
import { buildModel, runStream } from '../../sim/verilator.js';
import { checksumCommands, expectedChecksums, type ChecksumRange } from './checksum.js';
import type { AnyEngine } from './engine.js';
import { engineFor } from './registry.js';

/** The CHECKSUM answers of a stream: the data word after each CHECKSUM's status word, in order. */
function checksumAnswers(out: Uint32Array): number[] {
  const got: number[] = [];
  for (let at = 0; at < out.length; at += 1 + parseStatus(out[at]).count) {
    const st = parseStatus(out[at]);
    if (st.op === OP.CHECKSUM) got.push(st.count === 1 ? out[at + 1] : -1);
  }
  return got;
}

const words = (cmds: Command[]) => cmds.flatMap((c) => c.words);

function eieBundle(): AnyBundle {
  const r = rng(5);
  const layers: FloatLayer[] = [
    { name: 'a', rows: 13, cols: 21, weight: gaussianMatrix(r, 13 * 21, 0.3), bias: gaussianMatrix(r, 13, 0.2), relu: true },
    { name: 'b', rows: 5, cols: 13, weight: gaussianMatrix(r, 65, 0.3), bias: gaussianMatrix(r, 5, 0.2), relu: false },
  ];
  return compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 2 }, numeric: { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 } }).bundle;
}

function xnorBundle(): AnyBundle {
  const r = rng(6);
  const bn = (n: number): BatchNorm => ({
    gamma: Float64Array.from({ length: n }, () => (r() < 0.4 ? -1 : 1) * (0.1 + r())),
    beta: Float64Array.from({ length: n }, () => gaussian(r)),
    mean: Float64Array.from({ length: n }, () => gaussian(r)),
    variance: Float64Array.from({ length: n }, () => 0.1 + r()),
    eps: 1e-5,
  });
  const sizes = [40, 24, 6];
  const layers: FloatLayer[] = sizes.slice(1).map((rows, l) => ({
    name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l]), bias: gaussianMatrix(r, rows), relu: false, bn: bn(rows),
  }));
  return binarizeModel({ source: 't', layers }, { numeric: { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 }, firstInput: 'fixed', lastOutput: 'scores' });
}

/** Builds the engines' simulation tests also use (host/simulate-*.test.ts), so the model cache serves both. */
const CONFIGS = {
  eie: { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32, pes: 2, vBits: 4, zBits: 2, fifoDepth: 8, entriesPerWord: 4, spmatWords: 4096, ptrDepth: 256, actDepth: 64, biasDepth: 256, maxLayers: 4 },
  xnor: { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32, pe: 4, simd: 32, bwnLanes: 4, maxCols: 1024, maxRows: 128, weightDepth: 4096, paramDepth: 256, maxLayers: 4, bufWords: 512, inWords: 512 },
};

function setup(given: AnyBundle) {
  const engine: AnyEngine = engineFor(given);
  const { bundle, config } = engine.plan(given, { config: engine.validateConfig(CONFIGS[given.engine], 'test config') });
  const load = engine.loadCommands(bundle, config);
  const ranges = expectedChecksums(engine.memories(config), load);
  const binary = buildModel({ files: engine.render(config), top: engine.top }).binary;
  return { engine, bundle, config, load, ranges, binary };
}

/** The first item of `r` with one bit flipped, as a raw WRITE (every word of the item as the load sent it, bit 0 of word 0 flipped). */
function corrupt(load: Command[], r: ChecksumRange): Command {
  const cmd = load.find((c) => {
    const { mem: code, count } = parseHeader(c.words[0]);
    const { pe, addr } = parseAddress(c.words[1]);
    return c.op === OP.WRITE && code === MEM[r.mem] && (pe === r.pe || pe === ALL_PES) && addr <= r.addr && r.addr < addr + count;
  })!;
  const { count } = parseHeader(cmd.words[0]);
  const itemWords = (cmd.words.length - 2) / count;
  const at = r.addr - parseAddress(cmd.words[1]).addr;
  const item = cmd.words.slice(2 + at * itemWords, 2 + (at + 1) * itemWords);
  item[0] = (item[0] ^ 1) >>> 0;
  return { op: OP.WRITE, respWords: 0, words: [header(OP.WRITE, MEM[r.mem], 1), addressWord(r.pe, r.addr), ...item] };
}

describe('CHECKSUM', () => {
  for (const [name, make] of [['EIE', eieBundle], ['XNOR', xnorBundle]] as const) {
    it(`${name}: after a load the board's checksums equal the bundle's; a flipped bit names its memory and copy; a RUN leaves them`, () => {
      const { engine, bundle, config, load, ranges, binary } = setup(make());
      const spec = engine.memories(config);
      // every memory a load writes is covered, each PE's copy where the engine keeps one per PE
      const written = new Set(load.map((c) => parseHeader(c.words[0]).mem));
      expect(new Set(ranges.map((r) => MEM[r.mem]))).toEqual(written);
      for (const m of spec.memories.filter((x) => written.has(MEM[x.mem]) && x.read?.copies)) {
        expect(new Set(ranges.filter((r) => r.mem === m.mem).map((r) => r.pe)).size, m.mem).toBe(m.read!.copies);
      }
      const expected = ranges.map((r) => r.crc);
      const check = checksumCommands(ranges);

      // unloaded: the memories hold whatever they started with
      const before = checksumAnswers(runStream(binary, Uint32Array.from(words(check))).words);
      expect(before).toHaveLength(ranges.length);
      expect(before).not.toEqual(expected);

      // loaded: equal; READ of the same ranges folds to the same CRC (CHECKSUM's definition); a RUN in between
      // changes nothing; an empty range answers the CRC of nothing
      const reads = ranges.map((r) => {
        const m = spec.memories.find((x) => x.mem === r.mem)!;
        return { op: OP.READ, respWords: r.count * Math.ceil(m.read!.bits / 32), words: [header(OP.READ, MEM[r.mem], r.count), addressWord(r.pe, r.addr)] };
      });
      const x = engine.quantizeInput(bundle, Array.from({ length: engine.input(bundle).length }, (_, i) => Math.sin(i)));
      const stream = [...load, ...check, ...reads, ...engine.inputCommands(bundle, x, config), runCommand(bundle.layers.length), ...check, checksumCommand(MEM[ranges[0].mem], 0, 0, 0)];
      const answers = splitResponses(stream, runStream(binary, Uint32Array.from(words(stream))).words, name);
      const at = load.length;
      const first = answers.slice(at, at + ranges.length).map((a) => a[0]);
      expect(first).toEqual(expected);
      const readBack = answers.slice(at + ranges.length, at + 2 * ranges.length).map((a) => checksumOf(a));
      expect(readBack).toEqual(expected);
      const afterRun = answers.slice(-1 - ranges.length, -1).map((a) => a[0]);
      expect(afterRun).toEqual(expected);
      expect(answers.at(-1)![0]).toBe(0);

      // one bit of one item of a few ranges: exactly that range differs (every PE's copy of a memory every
      // write reaches at once)
      const label = (r: ChecksumRange) => `${r.mem}/${r.pe}@${r.addr}`;
      for (const i of [0, Math.floor(ranges.length / 2), ranges.length - 1]) {
        const s = [...load, corrupt(load, ranges[i]), ...check];
        const got = checksumAnswers(runStream(binary, Uint32Array.from(words(s))).words);
        const oneCopy = spec.memories.find((m) => m.mem === ranges[i].mem)!.write!.oneCopy;
        const hit = ranges.filter((r) => r === ranges[i] || (oneCopy && r.mem === ranges[i].mem && r.addr === ranges[i].addr));
        expect(got.map((v, k) => (v === expected[k] ? '' : label(ranges[k]))).filter(Boolean), label(ranges[i])).toEqual(hit.map(label));
      }
    });
  }

  it('is refused like READ: a bad memory, every PE at once, no such PE, past the end; during a RUN it waits its turn', () => {
    const { engine, config, load, ranges, binary } = setup(eieBundle());
    const spec = engine.memories(config);
    const spm = spec.memories.find((m) => m.mem === 'SPMAT')!;
    const stream = [
      header(OP.CHECKSUM, 0x33, 1), addressWord(0, 0),
      header(OP.CHECKSUM, MEM.SPMAT, 1), addressWord(ALL_PES, 0),
      header(OP.CHECKSUM, MEM.SPMAT, 1), addressWord(spm.read!.copies!, 0),
      header(OP.CHECKSUM, MEM.SPMAT, 2), addressWord(0, spm.read!.depth - 1),
      header(OP.NOP, 0, 0),
    ];
    const out = runStream(binary, Uint32Array.from(stream)).words;
    expect(Array.from(out, (w) => parseStatus(w))).toEqual([
      { op: OP.CHECKSUM, status: STATUS.BAD_MEM, count: 0 },
      { op: OP.CHECKSUM, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.CHECKSUM, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.CHECKSUM, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.NOP, status: STATUS.OK, count: 0 },
    ]);
    // A CHECKSUM right behind a RUN is taken only once the run is done: its answer follows the RUN's.
    const s = [...load, runCommand(2), ...checksumCommands(ranges.slice(0, 1))];
    const res = runStream(binary, Uint32Array.from(words(s))).words;
    const answers = splitResponses(s, res, 'run then checksum');
    expect(answers.at(-1)![0]).toBe(ranges[0].crc);
  });
});

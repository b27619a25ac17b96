import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from '../test/helpers/random.js';
import { compressModel } from '../src/compress/compress.js';
import { validateConfig, type EieConfig } from '../src/engines/eie/config.js';
import { bundleForward, quantizeInput } from '../src/golden/eie.js';
import type { Bundle, FloatLayer, NumericFormat } from '../src/model/types.js';
import { simulate } from './simulate.js';
import { buildModel, runStream } from '../sim/verilator.js';
import { renderEie, eieWidths } from '../src/engines/eie/rtl.js';
import { ALL_PES, MEM, OP, STATUS, addressWord, header, parseStatus } from '../src/protocol/command-set.js';
import { expectEveryCommandAnswered, randomCommands } from '../test/helpers/command-streams.js';
import { inputCommands, loadCommands, readCommands } from '../src/engines/eie/image.js';
import { runCommand } from '../src/protocol/command-words.js';

const NUMERIC: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };

/** One build per PE count, large enough for every case below, so the suite builds few models. */
function config(pes: number, over: Partial<EieConfig> = {}): EieConfig {
  return validateConfig(
    { ...NUMERIC, pes, vBits: 4, zBits: 2, fifoDepth: 8, entriesPerWord: 4, spmatWords: 4096, ptrDepth: 256, actDepth: 64, biasDepth: 256, maxLayers: 4, ...over },
    'test config',
  );
}

function mlp(r: () => number, sizes: number[], scale: number, relu: boolean[]): FloatLayer[] {
  return sizes.slice(1).map((rows, l) => ({
    name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l], scale), bias: gaussianMatrix(r, rows, scale), relu: relu[l],
  }));
}

function compress(layers: FloatLayer[], pes: number, density: number, numeric = NUMERIC): Bundle {
  return compressModel({ source: 'test', layers }, { density, bits: 4, sparse: { pes, vBits: 4, zBits: 2 }, numeric }).bundle;
}

function inputs(r: () => number, n: number, cols: number, numeric: NumericFormat, zeroFrac: number, scale = 2): Int32Array[] {
  return Array.from({ length: n }, () => quantizeInput(Array.from({ length: cols }, () => (r() < zeroFrac ? 0 : gaussian(r) * scale)), numeric));
}

function expectGolden(res: ReturnType<typeof simulate>, what: string): void {
  expect(res.golden.firstMismatch, what).toBeUndefined();
  expect(res.golden.match, what).toBe(true);
}

describe('EIE engine under Verilator equals the golden model', () => {
  for (const pes of [1, 2, 4, 8, 16]) {
    it(`random MLPs, N = ${pes}`, () => {
      const c = config(pes);
      for (let seed = 1; seed <= 40; seed++) {
        const r = rng(pes * 100 + seed);
        const depth = randInt(r, 1, 3);
        // sizes not divisible by N, and single layers
        const sizes = Array.from({ length: depth + 1 }, () => randInt(r, 1, 60));
        const relu = sizes.map(() => r() < 0.5);
        const density = [0.05, 0.2, 0.5, 1][seed % 4];
        const bundle = compress(mlp(r, sizes, 0.4, relu), pes, density);
        const xs = inputs(r, 4, sizes[0], NUMERIC, [0, 0.5, 0.9][seed % 3]);
        xs.push(new Int32Array(sizes[0])); // all-zero input
        expectGolden(simulate(bundle, xs, { config: c }), `N=${pes} seed ${seed} sizes ${sizes}`);
      }
    });
  }

  it('edge cases: empty columns, dense columns, padding gaps, saturation, a queue that fills', () => {
    const pes = 4;
    const r = rng(4242);
    // Tall layer with z of 2 bits: long gaps need padding entries; half the columns empty.
    const tall: FloatLayer = { name: 'tall', rows: 57, cols: 10, weight: new Float32Array(570), bias: gaussianMatrix(r, 57, 0.1), relu: false };
    for (let j = 0; j < 10; j += 2) tall.weight[(56 - 4 * j) * 10 + j] = 0.5 + r();
    for (let i = 0; i < 57; i++) tall.weight[i * 10 + 1] = gaussian(r); // one fully dense column
    const b1 = compress([tall], pes, 1);
    expect(b1.layers[0].slices.some((s) => s.v.some((v) => v === 0))).toBe(true); // padding present
    expectGolden(simulate(b1, inputs(r, 6, 10, NUMERIC, 0.3), { config: config(pes) }), 'tall');

    // Saturation: narrow formats and big weights/inputs clamp both the accumulator and the outputs.
    const narrow: NumericFormat = { actBits: 8, actFrac: 2, weightBits: 8, accBits: 16 };
    const sat = compress(mlp(r, [30, 20, 9], 3, [true, false]), pes, 0.8, narrow);
    const cNarrow = config(pes, { ...narrow });
    const satRes = simulate(sat, inputs(r, 6, 30, narrow, 0.1, 20), { config: cNarrow });
    expectGolden(satRes, 'saturation');
    const extremes = satRes.outputs.flatMap((o) => Array.from(o)).filter((v) => v === 127 || v === -128);
    expect(extremes.length).toBeGreaterThan(0);

    // Queue of depth 1 with dense work: broadcasts must wait, results must not change.
    const dense = compress(mlp(r, [24, 40], 0.5, [false]), pes, 1);
    const q1 = simulate(dense, inputs(r, 3, 24, NUMERIC, 0), { config: config(pes, { fifoDepth: 1 }) });
    expectGolden(q1, 'fifo depth 1');
    expect(q1.counters.broadcastStalls[0]).toBeGreaterThan(0);
  });
});

describe('EIE engine throughput', () => {
  it('sustains one non-zero per PE per cycle on balanced work', () => {
    // Dense layers with rows = m·N: every PE has m entries in every column, every activation is non-zero.
    const pes = 4;
    const c = config(pes);
    const r = rng(9);
    const m = 3;
    const run = (cols: number) => {
      const l: FloatLayer = { name: 'fc', rows: m * pes, cols, weight: Float32Array.from({ length: m * pes * cols }, () => 0.5 + r()), relu: false };
      const bundle = compress([l], pes, 1);
      const x = quantizeInput(Array.from({ length: cols }, () => 1 + r()), NUMERIC);
      const res = simulate(bundle, [x], { config: c });
      expectGolden(res, `cols ${cols}`);
      return res.layerCycles[0][0];
    };
    const c10 = run(10);
    const c50 = run(50);
    // 40 more columns are 40·m more entries per PE: exactly that many more cycles.
    expect(c50 - c10).toBe(40 * m);
    const latency = c10 - 10 * m;
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(12);
    console.log(`EIE pipeline: ${m} entries per PE per column sustained at 1 per cycle; fixed latency ${latency} cycles per layer`);
  });
});

describe('EIE simulation extras', () => {
  it('writes an FST waveform on request', () => {
    const r = rng(77);
    const bundle = compress(mlp(r, [6, 5], 0.5, [true]), 2, 0.5);
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-fst-'));
    try {
      const fst = join(dir, 'run.fst');
      expectGolden(simulate(bundle, inputs(r, 1, 6, NUMERIC, 0.2), { config: config(2), trace: fst }), 'traced');
      const head = readFileSync(fst);
      expect(head.length).toBeGreaterThan(1000);
      expect(head[0]).toBe(0); // FST_BL_HDR: an FST file starts with its header block
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('EIE command decoder', () => {
  const pes = 2;
  const c = config(pes);
  const model = () => buildModel({ files: renderEie(c), top: 'eie_top' });

  it('answers every command with a status word and stays in step after bad ones', () => {
    const words = [
      header(0x7e, 0, 0), // unknown opcode
      header(OP.NOP, 0, 0),
      header(OP.WRITE, 0x33, 2), addressWord(0, 0), 0xdead, 0xbeef, // unknown memory: data still consumed
      header(OP.WRITE, MEM.BIAS, 1), addressWord(pes, 0), 5, // no such PE
      header(OP.WRITE, MEM.CODEBOOK, 3), addressWord(ALL_PES, 2 ** (eieWidths(c).CB_AW) - 2), 1, 2, 3, // past the end
      header(OP.READ, MEM.ACT, 2 ** eieWidths(c).ACT_AW * pes + 1), addressWord(0, 0), // more than the buffer holds
      header(OP.READ, MEM.ACT, 3), addressWord(ALL_PES, 0), // a read names one PE
      header(OP.RUN, 0, c.maxLayers + 1), // more layers than the layer table holds
      header(OP.NOP, 0, 0),
    ];
    const res = runStream(model().binary, Uint32Array.from(words));
    expect(Array.from(res.words, (w) => parseStatus(w))).toEqual([
      { op: 0x7e, status: STATUS.BAD_OPCODE, count: 0 },
      { op: OP.NOP, status: STATUS.OK, count: 0 },
      { op: OP.WRITE, status: STATUS.BAD_MEM, count: 0 },
      { op: OP.WRITE, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.WRITE, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.READ, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.READ, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.RUN, status: STATUS.BAD_ADDR, count: 0 },
      { op: OP.NOP, status: STATUS.OK, count: 0 },
    ]);
  });

  it('a refused burst writes nothing: the loaded network still computes exactly', () => {
    const r = rng(31);
    const bundle = compress(mlp(r, [12, 9], 0.5, [true]), pes, 0.6);
    const x = inputs(r, 1, 12, NUMERIC, 0.2)[0];
    const w = eieWidths(c);
    // Garbage over the whole sparse matrix, one word too many: refused, so nothing may change.
    const garbage = [header(OP.WRITE, MEM.SPMAT, 2 ** w.SPM_AW + 1), addressWord(0, 0), ...new Array((2 ** w.SPM_AW + 1) * w.SPM_WORDS).fill(0xffffffff)];
    const cmds = [...loadCommands(bundle, c), ...inputCommands(x, c)];
    const words = Uint32Array.from([...cmds.flatMap((k) => k.words), ...garbage, ...runCommand(1).words, ...readCommands(9, c).flatMap((k) => k.words)]);
    const out = runStream(model().binary, words).words;
    const before = cmds.length;
    let at = 0;
    for (let i = 0; i < before; i++) at += 1 + parseStatus(out[at]).count;
    expect(parseStatus(out[at])).toEqual({ op: OP.WRITE, status: STATUS.BAD_ADDR, count: 0 });
    expect(parseStatus(out[at + 1])).toEqual({ op: OP.RUN, status: STATUS.OK, count: 1 });
    const y = Int32Array.from(out.subarray(at + 4, at + 4 + 9), (v) => v | 0);
    expect(parseStatus(out[at + 3])).toEqual({ op: OP.READ, status: STATUS.OK, count: 9 });
    expect(y).toEqual(bundleForward(bundle, x)[0]);
  });
});

describe('EIE command decoder under random commands', () => {
  it('answers every command of random streams (bad opcodes, memories, bursts, garbage layers) and never wedges', () => {
    const c = config(4);
    const binary = buildModel({ files: renderEie(c), top: 'eie_top' }).binary;
    const w = eieWidths(c);
    const itemWords = (mem: number) => (mem === MEM.SPMAT ? w.SPM_WORDS : mem === MEM.BIAS ? w.BIAS_WORDS : 1);
    for (let seed = 1; seed <= 8; seed++) {
      const r = rng(seed * 7919);
      let runs = 0;
      // garbage layers can take many cycles: a few RUNs per stream
      const runCount = () => (runs++ < 2 ? randInt(r, 0, c.maxLayers + 1) : undefined);
      const { words, ops } = randomCommands(r, { mems: [1, 2, 3, 4, 5, 6], itemWords, maxCount: 40, runCount });
      expectEveryCommandAnswered(runStream(binary, Uint32Array.from(words)).words, ops, `seed ${seed}`);
    }
  });
});

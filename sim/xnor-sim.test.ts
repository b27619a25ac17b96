import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from '../test/helpers/random.js';
import { binarizeModel } from '../src/compress/binarize.js';
import { layerShape, validateXnorConfig, type XnorConfig } from '../src/gen/xnor-config.js';
import { renderXnor } from '../src/gen/xnor-rtl.js';
import type { BatchNorm, BinaryBundle, FloatLayer, NumericFormat } from '../src/model/types.js';
import { simulateXnor } from './xnor-sim.js';

const NUMERIC: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };

/** One build per (P, S, B), large enough for every case below, so the suite builds few models. */
function config(pe: number, simd: number, bwnLanes: number): XnorConfig {
  return validateXnorConfig(
    { ...NUMERIC, pe, simd, bwnLanes, maxCols: 128, maxRows: 128, weightDepth: 1024, paramDepth: 128, maxLayers: 4 },
    'test config',
  );
}

function randomBn(r: () => number, n: number): BatchNorm {
  return {
    gamma: Float64Array.from({ length: n }, () => (r() < 0.4 ? -1 : 1) * (0.1 + r())),
    beta: Float64Array.from({ length: n }, () => gaussian(r)),
    mean: Float64Array.from({ length: n }, () => gaussian(r)),
    variance: Float64Array.from({ length: n }, () => 0.1 + r()),
    eps: 1e-5,
  };
}

function mlp(r: () => number, sizes: number[]): FloatLayer[] {
  return sizes.slice(1).map((rows, l) => ({
    name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l]), bias: gaussianMatrix(r, rows), relu: false,
    bn: randomBn(r, rows),
  }));
}

function inputs(r: () => number, b: BinaryBundle, n: number): Int32Array[] {
  const k = b.layers[0].cols;
  const fixed = b.layers[0].input === 'fixed';
  return Array.from({ length: n }, () => Int32Array.from({ length: k }, () => (fixed ? randInt(r, -128, 127) : randInt(r, 0, 1))));
}

function expectGolden(res: ReturnType<typeof simulateXnor>, what: string): void {
  expect(res.golden.firstMismatch, what).toBeUndefined();
  expect(res.golden.match, what).toBe(true);
}

const CONFIGS: [number, number, number][] = [
  [4, 32, 4],
  [2, 8, 2],
];

describe('XNOR units under Verilator equal the golden model', () => {
  for (const [pe, simd, lanes] of CONFIGS) {
    it(`random chains of 1-3 FC layers (BWN or binary first, bits or scores last), P = ${pe}, S = ${simd}`, () => {
      const c = config(pe, simd, lanes);
      let offMultiple = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const r = rng(pe * 1000 + simd * 10 + seed);
        const depth = randInt(r, 1, 3);
        const sizes = Array.from({ length: depth + 1 }, () => randInt(r, 1, 100));
        const b = binarizeModel(
          { source: 't', layers: mlp(r, sizes) },
          { numeric: NUMERIC, firstInput: seed % 2 ? 'fixed' : 'binary', lastOutput: seed % 3 ? 'scores' : 'threshold' },
        );
        offMultiple += sizes.filter((k) => k % simd !== 0).length;
        expectGolden(simulateXnor(b, inputs(r, b, 4), { config: c }), `seed ${seed} sizes ${sizes}`);
      }
      expect(offMultiple).toBeGreaterThan(10);
    });
  }

  it('thresholds at both extremes, negative gamma, a BWN first layer and a 3-layer chain', () => {
    const c = config(4, 32, 4);
    const r = rng(77);
    const sizes = [45, 38, 21, 6];
    const layers = mlp(r, sizes);
    // layer 1: rows 0-3 always on, 4-7 never on (both signs of gamma), the rest negative gamma
    const bn = layers[1].bn!;
    for (let i = 0; i < 8; i++) {
      bn.gamma[i] = i % 2 ? -1 : 1;
      bn.beta[i] = i < 4 ? 1e6 : -1e6;
    }
    for (let i = 8; i < sizes[2]; i++) bn.gamma[i] = -Math.abs(bn.gamma[i]);
    // the last layer shows its extremes directly: rows 0, 1 always on, rows 2, 3 never on
    const bn2 = layers[2].bn!;
    [1e6, 1e6, -1e6, -1e6].forEach((beta, i) => {
      bn2.beta[i] = beta;
      bn2.gamma[i] = i % 2 ? -1 : 1;
    });
    const b = binarizeModel({ source: 't', layers }, { numeric: NUMERIC, firstInput: 'fixed', lastOutput: 'threshold' });
    const t1 = b.layers[1];
    expect(Array.from(t1.threshold.subarray(0, 8), (t, i) => [t, t1.flip[i]])).toEqual([
      [0, 0], [sizes[1] + 1, 1], [0, 0], [sizes[1] + 1, 1], [sizes[1] + 1, 0], [0, 1], [sizes[1] + 1, 0], [0, 1],
    ]);
    const xs = inputs(r, b, 8);
    xs.push(new Int32Array(sizes[0]).fill(127), new Int32Array(sizes[0]).fill(-128), new Int32Array(sizes[0]));
    const res = simulateXnor(b, xs, { config: c });
    expectGolden(res, 'extremes');
    for (const y of res.outputs) expect(Array.from(y.subarray(0, 4))).toEqual([1, 1, 0, 0]);
    expect(b.layers[0].input).toBe('fixed');
  });

  it('score saturation: large alpha and narrow activations clamp at both ends', () => {
    const c = config(2, 8, 2);
    const r = rng(99);
    const layers = mlp(r, [20, 12]);
    for (let i = 0; i < layers[0].weight.length; i++) layers[0].weight[i] *= 40;
    const b = binarizeModel({ source: 't', layers }, { numeric: NUMERIC, firstInput: 'binary', lastOutput: 'scores' });
    const res = simulateXnor(b, inputs(r, b, 10), { config: c });
    expectGolden(res, 'saturation');
    const all = res.outputs.flatMap((o) => Array.from(o));
    expect(all.some((v) => v === 127)).toBe(true);
    expect(all.some((v) => v === -128)).toBe(true);
  });
});

describe('XNOR units throughput', () => {
  it('ceil(K/S)·ceil(M/P) cycles per layer plus a fixed pipeline latency', () => {
    const pe = 4;
    const simd = 32;
    const c = config(pe, simd, 4);
    const r = rng(5);
    const run = (k: number, m: number) => {
      const b = binarizeModel({ source: 't', layers: mlp(r, [k, m]) }, { numeric: NUMERIC, firstInput: 'binary', lastOutput: 'threshold' });
      const res = simulateXnor(b, inputs(r, b, 1), { config: c });
      expectGolden(res, `K ${k} M ${m}`);
      const s = layerShape(b.layers[0], pe, simd, 4);
      return { cycles: res.layerCycles[0][0], ideal: s.folds * s.groups };
    };
    const shapes: [number, number][] = [[32, 4], [33, 5], [100, 37], [128, 128], [7, 1]];
    const latency = shapes.map(([k, m]) => {
      const { cycles, ideal } = run(k, m);
      return cycles - ideal;
    });
    expect(new Set(latency).size).toBe(1);
    expect(latency[0]).toBeGreaterThan(0);
    expect(latency[0]).toBeLessThan(12);
    console.log(`XNOR MVTU: ceil(K/S)·ceil(M/P) cycles per layer + ${latency[0]} cycles of pipeline (P = ${pe}, S = ${simd})`);
  });
});

describe('XNOR RTL is clean', () => {
  const lintConfigs: [number, number, number][] = [[4, 32, 4], [16, 64, 0], [1, 8, 1], [2, 16, 16], [32, 128, 8]];
  it('verilator --lint-only -Wall passes on several configs', () => {
    for (const [pe, simd, lanes] of lintConfigs) {
      const dir = mkdtempSync(join(tmpdir(), 'hwgen-xnor-lint-'));
      try {
        const files = renderXnor(config(pe, simd, lanes));
        for (const [n, t] of files) writeFileSync(join(dir, n), t);
        const r = spawnSync('verilator', ['--lint-only', '-Wall', '--top-module', 'xnor_top', ...files.keys()], { cwd: dir, encoding: 'utf8' });
        expect(r.stderr, `P ${pe} S ${simd} B ${lanes}`).toBe('');
        expect(r.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('yosys synthesizes it with no latches, weights in block RAM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-xnor-synth-'));
    try {
      const files = renderXnor(config(4, 32, 4));
      for (const [n, t] of files) writeFileSync(join(dir, n), t);
      const script = [
        `read_verilog ${[...files.keys()].join(' ')}`,
        'synth_xilinx -family xc7 -top xnor_top -flatten -noiopad',
        'select -assert-none t:LD* t:$*latch*',
        'tee -q -o stat.json stat -json',
      ].join('; ');
      const r = spawnSync('yosys', ['-q', '-p', script], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const cells = readFileSync(join(dir, 'stat.json'), 'utf8');
      expect(cells).toMatch(/RAMB(18|36)E1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { binaryForward, thresholdBit } from '../golden/xnor.js';
import { weightRow } from '../model/layout.js';
import type { BatchNorm, FloatLayer, NumericFormat } from '../model/types.js';
import { binarizeLayer, binarizeModel, foldThreshold } from './binarize.js';

const NUMERIC: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };

/** The float model, written independently of the library: α·Σ sign(w)·x + b, then batch-norm, then sign. */
function floatBit(w: ArrayLike<number>, x: ArrayLike<number>, b: number, bn: BatchNorm | undefined, i: number): number {
  let alpha = 0;
  for (let k = 0; k < w.length; k++) alpha += Math.abs(w[k]);
  alpha /= w.length;
  let dot = 0;
  for (let k = 0; k < w.length; k++) dot += (w[k] >= 0 ? 1 : -1) * x[k];
  let y = alpha * dot + b;
  if (bn) y = (bn.gamma[i] * (y - bn.mean[i])) / Math.sqrt(bn.variance[i] + bn.eps) + bn.beta[i];
  return y >= 0 ? 1 : 0;
}

function randomBn(r: () => number, n: number, negFrac: number): BatchNorm {
  return {
    gamma: Float64Array.from({ length: n }, () => (r() < negFrac ? -1 : 1) * (0.05 + r() * 2)),
    beta: Float64Array.from({ length: n }, () => gaussian(r)),
    mean: Float64Array.from({ length: n }, () => gaussian(r) * 2),
    variance: Float64Array.from({ length: n }, () => 0.01 + r() * 3),
    eps: 1e-5,
  };
}

/** Moves each channel's mean so that BN(α·dot + b) sits on (or one ulp around) zero at a reachable dot. */
function makeTies(l: FloatLayer, bn: BatchNorm, r: () => number, input: 'binary' | 'fixed'): void {
  for (let i = 0; i < l.rows; i++) {
    let alpha = 0;
    for (let k = 0; k < l.cols; k++) alpha += Math.abs(l.weight[i * l.cols + k]);
    alpha /= l.cols;
    const dot = input === 'binary' ? 2 * randInt(r, 0, l.cols) - l.cols : randInt(r, -40, 40) / 2 ** NUMERIC.actFrac;
    bn.beta[i] = 0;
    const pre = alpha * dot + (l.bias ? l.bias[i] : 0);
    const kind = randInt(r, 0, 2);
    // mean = pre exactly gives y = ±0 (bit 1); one ulp either side decides by rounding alone.
    bn.mean[i] = kind === 0 ? pre : kind === 1 ? pre + Math.abs(pre) * 2 ** -52 : pre - Math.abs(pre) * 2 ** -52;
  }
}

describe('folded thresholds equal batch-norm then sign in float', () => {
  it('every accumulator value, binary input, random parameters with γ < 0 and near ties', () => {
    let flips = 0;
    let ties = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const rows = randInt(r, 1, 12);
      const cols = randInt(r, 1, 70);
      const fl: FloatLayer = { name: 'l', rows, cols, weight: gaussianMatrix(r, rows * cols), bias: gaussianMatrix(r, rows), relu: false };
      const bn = randomBn(r, rows, 0.4);
      if (seed % 2 === 0) {
        makeTies(fl, bn, r, 'binary');
        ties++;
      }
      fl.bn = bn;
      const xl = binarizeLayer(fl, { input: 'binary', output: 'threshold' }, NUMERIC, 'test');
      flips += xl.flip.reduce((a, b) => a + b, 0);
      for (let i = 0; i < rows; i++) {
        const w = fl.weight.subarray(i * cols, (i + 1) * cols);
        for (let pc = 0; pc <= cols; pc++) {
          // an input with pc agreements: the first pc inputs equal the weight's sign, the rest differ
          const x = Array.from(w, (wk, k) => ((wk >= 0) === k < pc ? 1 : -1));
          expect(thresholdBit(xl, i, pc), `seed ${seed} row ${i} popcount ${pc}`).toBe(floatBit(w, x, fl.bias![i], bn, i));
        }
      }
    }
    expect(flips).toBeGreaterThan(100);
    expect(ties).toBeGreaterThan(100);
  });

  it('BWN (fixed-point input): every sum in a window around the threshold, and the extremes', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(1000 + seed);
      const rows = randInt(r, 1, 6);
      const cols = randInt(r, 1, 20);
      const fl: FloatLayer = { name: 'l', rows, cols, weight: gaussianMatrix(r, rows * cols), bias: gaussianMatrix(r, rows), relu: false };
      const bn = randomBn(r, rows, 0.5);
      if (seed % 2) makeTies(fl, bn, r, 'fixed');
      fl.bn = bn;
      const xl = binarizeLayer(fl, { input: 'fixed', output: 'threshold' }, NUMERIC, 'test');
      const lim = cols * 2 ** (NUMERIC.actBits - 1);
      for (let i = 0; i < rows; i++) {
        const w = fl.weight.subarray(i * cols, (i + 1) * cols);
        const t = xl.threshold[i];
        const sums = [-lim, lim, -lim + 1, lim - 1];
        for (let d = -3; d <= 3; d++) if (Math.abs(t + d) <= lim) sums.push(t + d);
        for (const s of sums) {
          // a real input whose signed sum against the weight signs is s / 2^actFrac: put it all on input 0
          const x = Array.from(w, (_, k) => (k === 0 ? ((w[0] >= 0 ? 1 : -1) * s) / 2 ** NUMERIC.actFrac : 0));
          expect(thresholdBit(xl, i, s), `seed ${seed} row ${i} sum ${s}`).toBe(floatBit(w, x, fl.bias![i], bn, i));
        }
      }
    }
  });

  it('thresholds at both extremes: always on, never on (γ = 0, α = 0, huge β)', () => {
    const cols = 9;
    const fl: FloatLayer = { name: 'l', rows: 6, cols, weight: gaussianMatrix(rng(3), 6 * cols), relu: false };
    fl.weight.fill(0, 4 * cols, 5 * cols); // row 4: α = 0
    fl.bn = {
      gamma: Float64Array.from([1, 1, 0, 0, -1, -1]),
      beta: Float64Array.from([1e9, -1e9, 0.5, -0.5, -3, 1e9]),
      mean: new Float64Array(6),
      variance: new Float64Array(6).fill(1),
      eps: 0,
    };
    const xl = binarizeLayer(fl, { input: 'binary', output: 'threshold' }, NUMERIC, 'test');
    const on = (i: number) => Array.from({ length: cols + 1 }, (_, pc) => thresholdBit(xl, i, pc));
    expect(on(0).every((b) => b === 1)).toBe(true);
    expect(on(1).every((b) => b === 0)).toBe(true);
    expect(on(2).every((b) => b === 1)).toBe(true); // γ = 0: β >= 0
    expect(on(3).every((b) => b === 0)).toBe(true);
    expect(on(4).every((b) => b === 0)).toBe(true); // α = 0: −1·(0 − 0) − 3 < 0
    expect(on(5).every((b) => b === 1)).toBe(true); // γ < 0, always on
    expect(Array.from(xl.threshold)).toEqual([0, cols + 1, 0, cols + 1, cols + 1, cols + 1]); // row 5: NOT(acc >= K + 1)
    expect(Array.from(xl.flip)).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('foldThreshold finds the ends of monotone step functions', () => {
    for (let t = -3; t <= 8; t++) {
      const up = foldThreshold((a) => Number(a >= t), 1, -2, 7);
      expect(up).toEqual({ threshold: Math.min(Math.max(t, -2), 8), flip: 0 });
      const down = foldThreshold((a) => Number(a <= t), -1, -2, 7);
      for (let a = -2; a <= 7; a++) expect(Number(a >= down.threshold) ^ down.flip).toBe(Number(a <= t));
    }
  });
});

describe('binarizeModel', () => {
  it('a 3-layer MLP with batch-norm: golden bits and scores equal the float network on ±1 / quantized inputs', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(500 + seed);
      const sizes = [randInt(r, 2, 30), randInt(r, 1, 40), randInt(r, 1, 40), randInt(r, 1, 10)];
      const layers: FloatLayer[] = sizes.slice(1).map((rows, l) => ({
        name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l]), bias: gaussianMatrix(r, rows), relu: false,
        bn: l < 2 ? randomBn(r, rows, 0.3) : undefined,
      }));
      const b = binarizeModel({ source: 't', layers }, { numeric: NUMERIC });
      expect(b.layers.map((l) => [l.input, l.output])).toEqual([['fixed', 'threshold'], ['binary', 'threshold'], ['binary', 'scores']]);
      const xq = Int32Array.from({ length: sizes[0] }, () => randInt(r, -128, 127));
      const outs = binaryForward(b, xq);
      // float: layer 0 on x = q / 2^actFrac, layer 1 on ±1
      let x: number[] = Array.from(xq, (q) => q / 2 ** NUMERIC.actFrac);
      for (let l = 0; l < 2; l++) {
        const fl = layers[l];
        const bits = Array.from({ length: fl.rows }, (_, i) => floatBit(fl.weight.subarray(i * fl.cols, (i + 1) * fl.cols), x, fl.bias![i], fl.bn, i));
        expect(Array.from(outs[l]), `seed ${seed} layer ${l}`).toEqual(bits);
        x = bits.map((v) => 2 * v - 1);
      }
      // last layer: scores within the fixed-point rounding of α and the output
      const fl = layers[2];
      const xl = b.layers[2];
      for (let i = 0; i < fl.rows; i++) {
        const w = fl.weight.subarray(i * fl.cols, (i + 1) * fl.cols);
        let alpha = 0;
        for (let k = 0; k < w.length; k++) alpha += Math.abs(w[k]) / w.length;
        let dot = 0;
        for (let k = 0; k < w.length; k++) dot += (w[k] >= 0 ? 1 : -1) * x[k];
        const want = alpha * dot + fl.bias![i];
        const got = outs[2][i] / 2 ** NUMERIC.actFrac;
        const tol = Math.abs(dot) * 2 ** -(xl.alphaFrac + 1) + 2 ** -NUMERIC.actFrac;
        if (Math.abs(want) < 7) expect(Math.abs(got - want), `seed ${seed} score ${i}`).toBeLessThanOrEqual(tol);
      }
      expect(Array.from(weightRow(xl, 0))).toEqual(Array.from(fl.weight.subarray(0, fl.cols), (w) => (w >= 0 ? 1 : 0)));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { randInt, rng } from '../../test/helpers/random.js';
import type { NumericFormat, XnorLayer } from '../model/types.js';
import { accumulate, score, windows, xnorLayerForward } from './xnor.js';
import { getBit, layerOutputs, packBits } from '../model/layout.js';

const NUMERIC: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };

function layer(over: Partial<XnorLayer>): XnorLayer {
  return {
    kind: 'xnor', name: 'l', rows: 1, cols: 1, input: 'binary', output: 'threshold', weights: new Uint8Array(1),
    threshold: new Float64Array(1), flip: new Uint8Array(1), alpha: new Int32Array(0), bias: new Float64Array(0),
    alphaFrac: 0, pool: 1, ...over,
  };
}

describe('golden XNOR arithmetic', () => {
  it('packs bits LSB-first and popcount(XNOR) = (dot + K) / 2', () => {
    const r = rng(1);
    for (let t = 0; t < 50; t++) {
      const k = randInt(r, 1, 70);
      const w = Array.from({ length: k }, () => randInt(r, 0, 1));
      const x = Int32Array.from({ length: k }, () => randInt(r, 0, 1));
      const packed = packBits(w);
      expect(Array.from({ length: k }, (_, i) => getBit(packed, i))).toEqual(w);
      const l = layer({ cols: k, weights: packed });
      const dot = w.reduce((s, b, i) => s + (2 * b - 1) * (2 * x[i] - 1), 0);
      expect(accumulate(l, x)[0]).toBe((dot + k) / 2);
    }
  });

  it('BWN sums +x / -x exactly', () => {
    const l = layer({ cols: 3, input: 'fixed', weights: packBits([1, 0, 1]) });
    expect(accumulate(l, Int32Array.from([5, -7, -128]))).toEqual([5 + 7 - 128]);
  });

  it('scores round half up and saturate', () => {
    const l = layer({ cols: 4, output: 'scores', threshold: new Float64Array(0), flip: new Uint8Array(0), alpha: Int32Array.from([3]), bias: Float64Array.from([1]), alphaFrac: 5 });
    // shift = 5 - 4 = 1: (3·dot + 1) / 2 rounded half up
    expect(score(l, NUMERIC, 0, 4)).toBe(Math.floor((3 * 4 + 1 + 1) / 2)); // dot = 4
    expect(score(l, NUMERIC, 0, 0)).toBe(Math.floor((3 * -4 + 1 + 1) / 2)); // dot = -4 -> -5
    const big = { ...l, alpha: Int32Array.from([1000]) };
    expect(score(big, NUMERIC, 0, 4)).toBe(127);
    expect(score(big, NUMERIC, 0, 0)).toBe(-128);
  });

  it("'same' convolution pads with +1 (binary) or 0 (fixed); max-pool is the OR of each window", () => {
    const conv = { inChannels: 1, inHeight: 2, inWidth: 2, kernel: 3, padding: 'same' as const };
    const bin = layer({ cols: 9, conv, weights: new Uint8Array(2) });
    const w = windows(bin, Int32Array.from([0, 0, 0, 0]));
    expect(w.length).toBe(4);
    expect(Array.from(w[0])).toEqual([1, 1, 1, 1, 0, 0, 1, 0, 0]);
    const fixed = layer({ cols: 9, conv, input: 'fixed', weights: new Uint8Array(2) });
    expect(Array.from(windows(fixed, Int32Array.from([5, 6, 7, 8]))[3])).toEqual([5, 6, 0, 7, 8, 0, 0, 0, 0]);
    // 4x4 valid 1x1 conv, threshold 1 on one channel = the input bits; pool 2 ORs 2x2 blocks
    const pool = layer({ cols: 1, conv: { inChannels: 1, inHeight: 4, inWidth: 4, kernel: 1, padding: 'valid' }, weights: packBits([1]), threshold: Float64Array.from([1]), pool: 2 });
    const x = Int32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(layerOutputs(pool)).toBe(4);
    expect(Array.from(xnorLayerForward(pool, NUMERIC, x))).toEqual([1, 0, 0, 1]);
  });
});

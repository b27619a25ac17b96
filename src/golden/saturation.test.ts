import { describe, expect, it } from 'vitest';
import { compressModel } from '../compress/compress.js';
import { binarizeModel } from '../compress/binarize.js';
import type { FloatModel, NumericFormat } from '../model/types.js';
import { bundleForward, quantizeInput } from './eie.js';
import { binaryForward } from './xnor.js';
import { describeSaturations, noSaturations, totalSaturations } from './saturation.js';

const NUMERIC: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 8, accBits: 16 };

function model(scale: number): FloatModel {
  const w = Float32Array.from({ length: 4 * 3 }, (_, i) => ((i % 5) - 2) * scale);
  return { source: 't', layers: [{ name: 'fc', rows: 4, cols: 3, weight: w, relu: false }] };
}

describe('saturation counts', () => {
  it('EIE: inputs clipped by quantization, accumulator adds and outputs, without changing the result', () => {
    const { bundle } = compressModel(model(3), { bits: 3, sparse: { pes: 2, vBits: 3, zBits: 2 }, numeric: NUMERIC });
    const sat = [noSaturations()];
    const x = quantizeInput([100, -100, 1], NUMERIC, sat[0]); // ±100 do not fit 8 bits with 4 fractional
    expect(sat[0].inputs).toBe(2);
    const counted = bundleForward(bundle, x, sat);
    expect(counted).toEqual(bundleForward(bundle, x));
    expect(sat[0].accumulator + sat[0].outputs).toBeGreaterThan(0);
    expect(describeSaturations(sat, ['fc'])).toMatch(/^fc: 2 input\(s\) clipped/);
    const quiet = [noSaturations()];
    bundleForward(bundle, quantizeInput([0.1, 0, 0], NUMERIC, quiet[0]), quiet);
    expect(totalSaturations(quiet)).toBe(0);
  });

  it('XNOR: a scores layer counts the scores it clips', () => {
    const bundle = binarizeModel(model(50), { numeric: NUMERIC });
    const sat = [noSaturations()];
    binaryForward(bundle, quantizeInput([7, 7, 7], NUMERIC), sat);
    expect(sat[0].outputs).toBeGreaterThan(0);
    expect(sat[0].accumulator).toBe(0);
  });
});

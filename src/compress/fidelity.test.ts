import { describe, expect, it } from 'vitest';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import type { FloatLayer, NumericFormat } from '../model/types.js';
import { compressModel } from './compress.js';
import { measureFidelity } from './fidelity.js';

const NUMERIC: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };

describe('measureFidelity', () => {
  it('grows as pruning and weight sharing get coarser', () => {
    const r = rng(12);
    const layers: FloatLayer[] = [
      { name: 'a', rows: 40, cols: 60, weight: gaussianMatrix(r, 2400, 0.2), bias: gaussianMatrix(r, 40, 0.1), relu: true },
      { name: 'b', rows: 10, cols: 40, weight: gaussianMatrix(r, 400, 0.2), bias: gaussianMatrix(r, 10, 0.1), relu: false },
    ];
    const model = { source: 't', layers };
    const err = (density: number, bits: number) =>
      measureFidelity(model, compressModel(model, { density, bits, sparse: { pes: 4, vBits: 8, zBits: 4 }, numeric: NUMERIC }).bundle).relativeRms;
    const fine = err(1, 8);
    const pruned = err(0.3, 8);
    const coarse = err(0.3, 2);
    expect(fine).toBeLessThan(0.01); // 255 shared weights, no pruning: only fixed point is lost
    expect(pruned).toBeGreaterThan(fine);
    expect(coarse).toBeGreaterThan(pruned);
  });
});

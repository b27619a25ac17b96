import { describe, expect, it } from 'vitest';
import { gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import type { FloatModel } from '../model/types.js';
import { floatForward, floatForwardBatch } from './float.js';

/** The float network written out plainly: bias, then every column in order, then ReLU. */
function plain(model: FloatModel, input: number[]): Float64Array {
  let x = Float64Array.from(input);
  for (const l of model.layers) {
    const y = new Float64Array(l.rows);
    for (let i = 0; i < l.rows; i++) {
      let s = l.bias ? l.bias[i] : 0;
      for (let j = 0; j < l.cols; j++) s += l.weight[i * l.cols + j] * x[j];
      y[i] = l.relu && s < 0 ? 0 : s;
    }
    x = y;
  }
  return x;
}

describe('float reference', () => {
  it('gives every input of a batch the same bits as the plain loop, for odd row counts and batch sizes', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const sizes = Array.from({ length: randInt(r, 2, 4) }, () => randInt(r, 1, 23));
      const model: FloatModel = {
        source: 't',
        layers: sizes.slice(1).map((rows, l) => ({
          name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l]),
          bias: r() < 0.7 ? gaussianMatrix(r, rows) : undefined, relu: r() < 0.6,
        })),
      };
      const xs = Array.from({ length: randInt(r, 1, 9) }, () => Array.from({ length: sizes[0] }, () => (r() < 0.4 ? 0 : r() - 0.5)));
      const got = floatForwardBatch(model, xs);
      expect(got.length).toBe(xs.length);
      xs.forEach((x, b) => {
        const want = plain(model, x);
        expect(got[b], `seed ${seed} input ${b}`).toEqual(want);
        expect(floatForward(model, x)).toEqual(want);
      });
    }
  });
});

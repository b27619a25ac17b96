import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, rng } from '../../test/helpers/random.js';
import { binarizeLayer } from '../compress/binarize.js';
import type { FloatLayer, NumericFormat } from '../model/types.js';
import { binaryLayerFigures, MAX_OUTPUTS } from './binary-figures.js';

const NUMERIC: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };

function floatLayer(rows: number, cols: number, seed: number): FloatLayer {
  const r = rng(seed);
  const bias = Float32Array.from({ length: rows }, () => gaussian(r) * 0.1);
  return { name: 'fc', rows, cols, weight: gaussianMatrix(r, rows * cols, 0.1), bias, relu: false };
}

describe('binaryLayerFigures', () => {
  it('gives every output of a small layer and every k-th of a large one, at most MAX_OUTPUTS', () => {
    for (const rows of [1, 7, MAX_OUTPUTS, MAX_OUTPUTS + 1, 1300]) {
      const l = binarizeLayer(floatLayer(rows, 9, rows), { input: 'binary', output: 'threshold' }, NUMERIC, 'test');
      const f = binaryLayerFigures(l, NUMERIC);
      expect(f.kind).toBe('threshold');
      expect(f.outputs.length).toBeLessThanOrEqual(MAX_OUTPUTS);
      expect(f.outputs.length).toBe(Math.ceil(rows / f.stride));
      expect(f.stride).toBe(rows <= MAX_OUTPUTS ? 1 : Math.ceil(rows / MAX_OUTPUTS));
      for (const o of f.outputs) {
        expect(o.output % f.stride).toBe(0);
        expect(o.value).toBe(l.threshold[o.output]);
        expect(o.flipped).toBe(l.flip[o.output] === 1);
      }
    }
  });

  it('gives α and the bias of a scores layer as the real values of the float layer (no batch-norm: α = mean |W|)', () => {
    for (const input of ['binary', 'fixed'] as const) {
      const fl = floatLayer(40, 25, 7);
      const l = binarizeLayer(fl, { input, output: 'scores' }, NUMERIC, 'test');
      const f = binaryLayerFigures(l, NUMERIC);
      expect(f.kind).toBe('scores');
      const step = 2 ** -l.alphaFrac;
      for (const o of f.outputs) {
        const row = fl.weight.subarray(o.output * fl.cols, (o.output + 1) * fl.cols);
        const meanAbs = row.reduce((s, w) => s + Math.abs(w), 0) / fl.cols;
        expect(Math.abs(o.value - meanAbs)).toBeLessThanOrEqual(step / 2 + 1e-9);
        expect(Math.abs(o.bias! - fl.bias![o.output])).toBeLessThan(1e-3);
      }
    }
  });
});

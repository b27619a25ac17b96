import { describe, expect, it } from 'vitest';
import { gaussian, randInt, rng } from '../../test/helpers/random.js';
import { forwardBatch, inputGradBatch, softmaxCrossEntropy, weightGradBatch } from './kernels.js';
import { seededRandom } from './random.js';

/** A batch with about half its values exactly 0, as pixels and ReLU outputs are. */
function sparse(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? 0 : gaussian(r)));
}

describe('training kernels equal the textbook loops', () => {
  it('forward, weight gradient and input gradient over odd sizes and sparse inputs', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const [n, inp, out] = [randInt(r, 1, 9), randInt(r, 1, 23), randInt(r, 1, 17)];
      const x = sparse(r, n * inp);
      const wt = sparse(r, inp * out);
      const bias = sparse(r, out);
      const dy = sparse(r, n * out);
      const y = new Float32Array(n * out);
      forwardBatch(x, n, inp, wt, bias, out, y);
      const g = new Float32Array(inp * out).fill(7); // overwritten, not accumulated
      weightGradBatch(x, n, inp, dy, out, g);
      const dx = new Float32Array(n * inp);
      inputGradBatch(dy, n, out, wt, inp, dx);
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < out; i++) {
          let s = bias[i];
          for (let k = 0; k < inp; k++) s += x[b * inp + k] * wt[k * out + i];
          expect(y[b * out + i]).toBeCloseTo(s, 4);
        }
        for (let k = 0; k < inp; k++) {
          let s = 0;
          for (let i = 0; i < out; i++) s += wt[k * out + i] * dy[b * out + i];
          expect(dx[b * inp + k]).toBeCloseTo(s, 4);
        }
      }
      for (let k = 0; k < inp; k++) {
        for (let i = 0; i < out; i++) {
          let s = 0;
          for (let b = 0; b < n; b++) s += x[b * inp + k] * dy[b * out + i];
          expect(g[k * out + i]).toBeCloseTo(s, 4);
        }
      }
    }
  });

  it('softmax cross-entropy: loss and gradient match a finite difference', () => {
    const r = rng(3);
    const scores = Float32Array.from({ length: 2 * 5 }, () => gaussian(r) * 3);
    const labels = [4, 1];
    const grad = new Float32Array(10);
    const loss = softmaxCrossEntropy(scores, labels, 2, 5, grad);
    for (let q = 0; q < 10; q++) {
      const bumped = Float32Array.from(scores);
      bumped[q] += 1e-2;
      const up = softmaxCrossEntropy(bumped, labels, 2, 5, new Float32Array(10));
      expect((up - loss) / 2 / 1e-2).toBeCloseTo(grad[q], 2); // the gradient is of the batch mean
    }
  });

  it('the seeded generator repeats itself and permutes', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    const p = Array.from(seededRandom(7).permutation(100));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

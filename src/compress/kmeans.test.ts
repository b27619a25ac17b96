import { describe, expect, it } from 'vitest';
import { gaussian, laplacian, rng } from '../../test/helpers/random.js';
import { assignNearest, kmeans1d, linearInit, quantizationMse } from './kmeans.js';

describe('kmeans1d', () => {
  it('beats uniform quantization at the same bits on Gaussian and Laplacian weights', () => {
    for (const [name, draw] of [
      ['gaussian', gaussian],
      ['laplacian', laplacian],
    ] as const) {
      for (const bits of [2, 3, 4, 5]) {
        const r = rng(bits * 31 + name.length);
        const w = Float32Array.from({ length: 20000 }, () => draw(r) * 0.05);
        const k = 2 ** bits - 1;
        const uniform = linearInit(Math.min(...w), Math.max(...w), k);
        const { centroids } = kmeans1d(w, k);
        const mseK = quantizationMse(w, centroids);
        const mseU = quantizationMse(w, uniform);
        expect(mseK, `${name} B=${bits}`).toBeLessThan(mseU);
      }
    }
  });

  it('converges to a fixed point of Lloyd: each centroid is the mean of its cluster', () => {
    const r = rng(3);
    const w = Float32Array.from({ length: 3000 }, () => gaussian(r));
    const { centroids } = kmeans1d(w, 15, 1000);
    const idx = assignNearest(w, centroids);
    for (let c = 0; c < 15; c++) {
      const members = [...w].filter((_, i) => idx[i] === c);
      if (members.length) expect(centroids[c]).toBeCloseTo(members.reduce((a, b) => a + b, 0) / members.length, 9);
    }
    for (let c = 1; c < 15; c++) expect(centroids[c]).toBeGreaterThanOrEqual(centroids[c - 1]);
  });

  it('handles fewer distinct values than centroids, and one value', () => {
    const w = Float32Array.from([1, 1, 2, 2, 2]);
    const { centroids } = kmeans1d(w, 15);
    expect(quantizationMse(w, centroids)).toBe(0);
    expect(quantizationMse(Float32Array.from([0.3]), kmeans1d(Float32Array.from([0.3]), 3).centroids)).toBe(0);
  });
});

describe('assignNearest', () => {
  it('picks the nearest level, the lower one on a tie', () => {
    const levels = [-1, 0, 1, 1, 3];
    const idx = assignNearest(Float32Array.from([-5, -0.5, -0.25, 0.5, 0.75, 2, 2.5, 9]), levels);
    expect(Array.from(idx)).toEqual([0, 0, 1, 1, 2, 2, 4, 4]);
  });
});

import { describe, expect, it } from 'vitest';
import { gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { pruneByQuality, pruneToDensity, std } from './prune.js';

/** Reference: sort positions by magnitude descending, earlier position first on ties. */
function topK(w: Float32Array, k: number): number[] {
  const idx = [...w.keys()].filter((i) => w[i] !== 0);
  idx.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}

describe('pruneToDensity', () => {
  it('keeps exactly round(D x size) largest magnitudes over many seeds', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const n = randInt(r, 1, 3000);
      const w = gaussianMatrix(r, n);
      const d = seed % 7 === 0 ? 1 : r();
      const kept = pruneToDensity(w, d);
      expect(kept.length).toBe(Math.round(d * n));
      expect(Array.from(kept)).toEqual(topK(w, Math.round(d * n)));
    }
  });

  it('breaks ties by position and never keeps zeros', () => {
    const w = Float32Array.from([0.5, -0.5, 0, 0.25, 0.5, -0.5, 0, 0]);
    expect(Array.from(pruneToDensity(w, 3 / 8))).toEqual([0, 1, 4]);
    expect(Array.from(pruneToDensity(w, 1))).toEqual([0, 1, 3, 4, 5]);
    expect(pruneToDensity(new Float32Array(10), 0.5).length).toBe(0);
    // -0 is a zero; the smallest denormals share the lowest radix bucket with the zeros
    const tiny = Float32Array.from([-0, 1e-45, -1e-45, 0, 2, 1e-45]);
    expect(Array.from(pruneToDensity(tiny, 1))).toEqual([1, 2, 4, 5]);
    expect(Array.from(pruneToDensity(tiny, 2 / 6))).toEqual([1, 4]);
    expect(Array.from(pruneToDensity(tiny, 3 / 6))).toEqual([1, 2, 4]);
  });

  it('orders magnitudes across exponents and denormals like a sort does', () => {
    const w = Float32Array.from([1e-40, -3e-39, 1e30, -2, 65504, 1.5e-7, -1.5e-7, 7]);
    for (let k = 1; k <= w.length; k++) expect(Array.from(pruneToDensity(w, k / w.length))).toEqual(topK(w, k));
  });
});

describe('pruneByQuality', () => {
  it('keeps |w| > Q x std', () => {
    const r = rng(7);
    const w = gaussianMatrix(r, 5000);
    for (const q of [0, 0.5, 1, 2]) {
      const t = q * std(w);
      const expected = [...w.keys()].filter((i) => w[i] !== 0 && Math.abs(w[i]) > t);
      expect(Array.from(pruneByQuality(w, q))).toEqual(expected);
    }
  });
});

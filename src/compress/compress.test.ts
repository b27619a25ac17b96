import { describe, expect, it } from 'vitest';
import { gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { eieExportArrays as exportArrays } from '../engines/eie/export.js';
import type { FloatLayer, FloatModel, NumericFormat } from '../model/types.js';
import { compressModel, encodeSharedLayer } from './compress.js';
import { localRows } from '../model/layout.js';

const NUMERIC: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };

function layer(r: () => number, rows: number, cols: number, name = 'fc'): FloatLayer {
  return { name, rows, cols, weight: gaussianMatrix(r, rows * cols, 0.1), bias: gaussianMatrix(r, rows, 0.1), relu: true };
}

/** Expected dense matrix: the top-k positions (by magnitude) hold the nearest codebook level, the rest 0. */
function expectedDense(w: Float32Array, density: number, codebook: Int32Array, wFrac: number): Float32Array {
  const idx = [...w.keys()].filter((i) => w[i] !== 0);
  idx.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
  const levels = Array.from(codebook.subarray(1), (q) => q / 2 ** wFrac);
  const out = new Float32Array(w.length);
  for (const i of idx.slice(0, Math.round(density * w.length))) {
    let best = 0;
    for (let c = 1; c < levels.length; c++) if (Math.abs(w[i] - levels[c]) < Math.abs(w[i] - levels[best])) best = c;
    out[i] = levels[best];
  }
  return out;
}

describe('compress → export round trip', () => {
  it('exports exactly the pruned, quantized weights over many shapes, densities, PE counts and widths', () => {
    for (let seed = 1; seed <= 80; seed++) {
      const r = rng(seed);
      const rows = randInt(r, 1, 90);
      const cols = randInt(r, 1, 40);
      const pes = [1, 2, 3, 4, 8, 16, 64][seed % 7];
      const zBits = randInt(r, 1, 4);
      const bits = randInt(r, 2, 4);
      const vBits = randInt(r, bits, 8);
      const density = [0.01, 0.05, 0.3, 1][seed % 4];
      const l = layer(r, rows, cols);
      const model: FloatModel = { source: 'test', layers: [l] };
      const { bundle } = compressModel(model, { density, bits, sparse: { pes, vBits, zBits }, numeric: NUMERIC });
      const el = bundle.layers[0];
      expect(el.codebook.length).toBe(2 ** bits);
      expect(el.slices.length).toBe(pes);
      const exported = exportArrays(bundle);
      const want = expectedDense(l.weight, density, el.codebook, el.wFrac);
      expect(exported[0].array.data, `seed ${seed}`).toEqual(want);
      const zMax = 2 ** zBits - 1;
      el.slices.forEach((s, p) => {
        for (let e = 0; e < s.v.length; e++) expect(s.z[e]).toBeLessThanOrEqual(zMax);
        expect(s.ptr[cols]).toBe(s.v.length);
        expect(localRows(rows, pes, p)).toBe(Array.from({ length: rows }, (_, i) => i).filter((i) => i % pes === p).length);
      });
    }
  });

  it('handles an all-zero layer, empty columns and gaps longer than the largest z', () => {
    const r = rng(99);
    // all zero: nothing kept, every column empty
    const zero: FloatLayer = { name: 'z', rows: 7, cols: 5, weight: new Float32Array(35), relu: false };
    const z = compressModel({ source: 't', layers: [zero] }, { density: 0.5, bits: 4, sparse: { pes: 3, vBits: 4, zBits: 2 }, numeric: NUMERIC });
    expect(z.bundle.layers[0].slices.every((s) => s.v.length === 0)).toBe(true);
    expect(exportArrays(z.bundle)[0].array.data).toEqual(new Float32Array(35));

    // one weight at the bottom of a tall column: (rows - 1) / pes local rows to skip with z of 1 bit
    const tall: FloatLayer = { name: 't', rows: 100, cols: 3, weight: new Float32Array(300), relu: false };
    tall.weight[99 * 3 + 1] = 0.5;
    tall.weight[0] = -0.25;
    const t = compressModel({ source: 't', layers: [tall] }, { density: 1, bits: 2, sparse: { pes: 2, vBits: 2, zBits: 1 }, numeric: NUMERIC });
    const pe1 = t.bundle.layers[0].slices[1]; // row 99 is PE 1, local row 49
    const col1 = [...pe1.v.subarray(pe1.ptr[1], pe1.ptr[2])];
    expect(col1.filter((v) => v === 0).length).toBe(Math.floor(49 / 2)); // padding entries, each skips 2 rows
    expect(exportArrays(t.bundle)[0].array.data).toEqual(expectedDense(tall.weight, 1, t.bundle.layers[0].codebook, t.bundle.layers[0].wFrac));
    void r;
  });

  it('keeps a bias in the accumulator format', () => {
    const r = rng(5);
    const l = layer(r, 6, 4);
    const { bundle } = compressModel({ source: 't', layers: [l] }, { density: 1, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: NUMERIC });
    const el = bundle.layers[0];
    for (let i = 0; i < 6; i++) expect(el.bias[i]).toBe(Math.round(l.bias![i] * 2 ** (NUMERIC.actFrac + el.wFrac)));
  });
});

describe('encodeSharedLayer (a layer pruned and shared elsewhere, e.g. by retraining)', () => {
  it('stores exactly the given kept positions with their given centroids, in fixed point', () => {
    const r = rng(5);
    const l = layer(r, 37, 23);
    const kept = Uint32Array.from([...l.weight.keys()].filter(() => r() < 0.2));
    const centroids = [-0.3, -0.1, 0.05, 0.2, 0.7, 0.01, -0.5]; // not sorted: retraining may reorder them
    const codes = Uint8Array.from(kept, () => randInt(r, 1, 7));
    const enc = encodeSharedLayer(l, { kept, codes, centroids }, { bits: 3, sparse: { pes: 4, vBits: 4, zBits: 2 }, numeric: NUMERIC });
    const dense = exportArrays({ engine: 'eie', numeric: NUMERIC, sparse: { pes: 4, vBits: 4, zBits: 2 }, layers: [enc], meta: {} })[0].array.data as Float32Array;
    const want = new Float32Array(l.weight.length);
    kept.forEach((k, n) => (want[k] = Math.round(centroids[codes[n] - 1] * 2 ** enc.wFrac) / 2 ** enc.wFrac));
    expect(Array.from(dense)).toEqual(Array.from(want));
    expect(() => encodeSharedLayer(l, { kept, codes, centroids: [1, 2] }, { bits: 3, sparse: { pes: 4, vBits: 4, zBits: 2 }, numeric: NUMERIC })).toThrow(/2 shared weights; 3 index bits hold 7/);
  });
});

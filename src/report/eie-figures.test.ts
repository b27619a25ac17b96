import { describe, expect, it } from 'vitest';
import { gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { compressModel } from '../compress/compress.js';
import { bundleReport } from '../compress/report.js';
import type { Bundle, FloatModel } from '../model/types.js';
import { DEFAULT_NUMERIC } from '../model/types.js';
import { codebookValues, eieLayerFigures, HISTOGRAM_BINS } from './eie-figures.js';

function compressed(seed: number) {
  const r = rng(seed);
  const rows = randInt(r, 1, 70);
  const cols = randInt(r, 1, 50);
  const pes = [1, 3, 4, 16][seed % 4];
  const zBits = randInt(r, 1, 4);
  const model: FloatModel = { source: 'test', layers: [{ name: 'fc', rows, cols, weight: gaussianMatrix(r, rows * cols, 0.1), relu: true }] };
  const { bundle, details } = compressModel(model, { density: [0.05, 0.3, 1][seed % 3], bits: 4, sparse: { pes, vBits: 4, zBits }, numeric: DEFAULT_NUMERIC });
  const pruned = Float32Array.from(details[0].kept, (k) => model.layers[0].weight[k]);
  return { bundle, pruned };
}

describe('eieLayerFigures', () => {
  it('counts every entry once: per PE, per v and per z; code lengths give the report\'s Huffman bits', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { bundle } = compressed(seed);
      const layer = bundle.layers[0];
      const f = eieLayerFigures(layer, bundle.sparse);
      const report = bundleReport(bundle).layers[0];
      const entries = layer.slices.reduce((s, sl) => s + sl.v.length, 0);
      expect(f.pes.map((p) => p.nonZeros + p.padding)).toEqual(layer.slices.map((s) => s.v.length));
      expect(f.pes.reduce((s, p) => s + p.nonZeros, 0)).toBe(report.nonZeros);
      expect(f.pes.reduce((s, p) => s + p.padding, 0)).toBe(report.paddingEntries);
      expect(f.codebook.reduce((s, e) => s + e.count, 0)).toBe(entries);
      expect(f.z.reduce((s, e) => s + e.count, 0)).toBe(entries);
      // The same lengths as the report's: mean bits per entry agree.
      const bitsV = f.codebook.reduce((s, e) => s + e.count * e.bits, 0) / entries;
      const bitsZ = f.z.reduce((s, e) => s + e.count * e.bits, 0) / entries;
      expect(bitsV).toBeCloseTo(report.huffmanBitsV, 12);
      expect(bitsZ).toBeCloseTo(report.huffmanBitsZ, 12);
      // A used symbol has a code, an unused one none.
      for (const e of [...f.codebook, ...f.z]) expect(e.bits > 0).toBe(e.count > 0);
    }
  });

  it('bins every pruned float weight into the bin that holds it', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { bundle, pruned } = compressed(seed);
      const layer = bundle.layers[0];
      const d = eieLayerFigures(layer, bundle.sparse, pruned).distribution;
      expect(d.source).toBe('float');
      expect(d.weights).toBe(pruned.length);
      expect(d.bins.reduce((s, b) => s + b.count, 0)).toBe(pruned.length);
      expect(d.bins.length).toBeLessThanOrEqual(HISTOGRAM_BINS);
      const width = d.bins[0].end - d.bins[0].start;
      const eps = width * 1e-9;
      const inBins = (x: number) => d.bins.filter((b) => x >= b.start - eps && x <= b.end + eps).length;
      for (const x of pruned) expect(inBins(x)).toBeGreaterThan(0);
      const counted = d.bins.map((b) => Array.from(pruned).filter((x) => x >= b.start - eps && x < b.end - eps).length);
      // Each bin's count is the weights in [start, end), except that the top bin also holds the maximum.
      d.bins.slice(0, -1).forEach((b, i) => expect(b.count).toBe(counted[i]));
    }
  });

  it('without float weights shows the decoded weights: one spike per used codebook value', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { bundle } = compressed(seed);
      const layer = bundle.layers[0];
      const f = eieLayerFigures(layer, bundle.sparse);
      const d = f.distribution;
      expect(d.source).toBe('decoded');
      const values = codebookValues(layer);
      const used = f.codebook.slice(1).filter((e) => e.count > 0);
      expect(d.weights).toBe(bundleReport(bundle).layers[0].nonZeros);
      // Every used value lies in a bin whose count is the sum of the values' counts there.
      for (const b of d.bins) {
        const inside = used.filter((e) => e.value >= b.start - 1e-12 && (e.value < b.end - 1e-12 || b === d.bins[d.bins.length - 1]));
        expect(inside.reduce((s, e) => s + e.count, 0)).toBe(b.count);
      }
      expect(f.codebook.map((e) => e.value)).toEqual(values);
    }
  });
});

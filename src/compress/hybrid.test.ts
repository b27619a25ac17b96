import { describe, expect, it } from 'vitest';
import { randomEieSegment } from '../../test/helpers/networks.js';
import { randInt, rng } from '../../test/helpers/random.js';
import { bundleForward } from '../golden/eie.js';
import { boundaryFor } from '../model/boundary.js';
import { decodeDenseCodes } from '../model/layout.js';
import type { BinaryBundle, Bundle, FloatLayer, FloatModel, NumericFormat } from '../model/types.js';
import { compressHybrid, foldBitInput, permuteColumns, splitHybrid } from './hybrid.js';

const fc = (name: string, rows: number, cols: number, extra: Partial<FloatLayer> = {}): FloatLayer => ({
  name, rows, cols, weight: Float32Array.from({ length: rows * cols }, (_, k) => Math.sin(k + rows)), relu: true, ...extra,
});

describe('foldBitInput', () => {
  it('on bits 0 / 1.0 gives bit for bit what the layer gave on ±1.0 (W·(2b − 1) + c = 2W·b + (c − W·1))', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      // a wide accumulator so neither side saturates where the other does not; codebooks within weightBits − 1
      const numeric: NumericFormat = { actBits: 16, actFrac: randInt(r, 0, 14), weightBits: 12, accBits: 48 };
      const cols = randInt(r, 1, 40);
      const signed = randomEieSegment(r, cols, numeric, { pes: randInt(r, 1, 4), vBits: 4, zBits: randInt(r, 1, 4) });
      const folded: Bundle = { ...signed, layers: [foldBitInput(signed.layers[0], numeric), ...signed.layers.slice(1)] };
      expect(Array.from(folded.layers[0].codebook)).toEqual(Array.from(signed.layers[0].codebook, (q) => 2 * q));
      const binary: BinaryBundle = { engine: 'xnor', numeric, meta: {}, layers: [] };
      const boundary = boundaryFor(binary, folded, 'test');
      const one = 2 ** numeric.actFrac;
      for (let t = 0; t < 5; t++) {
        const bits = Int32Array.from({ length: cols }, () => (r() < 0.5 ? 1 : 0));
        expect(bundleForward(folded, boundary.convert(binary, folded, bits))).toEqual(bundleForward(signed, Int32Array.from(bits, (b) => (2 * b - 1) * one)));
      }
    }
  });

  it('refuses a doubled codebook or a folded bias that does not fit, naming the layer', () => {
    const numeric: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 8, accBits: 16 };
    const seg = randomEieSegment(rng(2), 6, { ...numeric, weightBits: 7 }, { pes: 2, vBits: 4, zBits: 2 });
    const layer = { ...seg.layers[0], codebook: seg.layers[0].codebook.map((q, i) => (i === 1 ? 100 : q)) };
    expect(() => foldBitInput(layer, numeric)).toThrow(new RegExp(`layer '${layer.name}': the shared weight 100 doubled by the fold .* does not fit 8-bit weights`));
    const dense = decodeDenseCodes(seg.layers[0]);
    const row = Array.from({ length: seg.layers[0].rows }, (_, i) => dense.subarray(i * 6, i * 6 + 6).reduce((a, x) => a + x, 0)).findIndex((s) => s !== 0);
    expect(row).toBeGreaterThanOrEqual(0);
    const sum = dense.subarray(row * 6, row * 6 + 6).reduce((a, x) => a + x, 0);
    const bias = seg.layers[0].bias.map((b, i) => (i === row ? Math.sign(sum) * -(2 ** 15 - 1) : b));
    expect(() => foldBitInput({ ...seg.layers[0], bias }, numeric)).toThrow(new RegExp(`folding the bits .* into bias\\[${row}\\] .* does not fit the 16-bit accumulator`));
  });
});

describe('splitHybrid', () => {
  const model: FloatModel = {
    source: 'net.npz',
    layers: [fc('a', 4, 6), fc('b', 3, 4, { bn: { gamma: new Float64Array(3), beta: new Float64Array(3), mean: new Float64Array(3), variance: new Float64Array(3).fill(1), eps: 1e-5 } }), fc('c', 2, 3)],
  };

  it('gives the named first layers to the XNOR units and the rest to the EIE engine', () => {
    const { binary, sparse } = splitHybrid(model, ['a', 'b'], {});
    expect([binary.map((l) => l.name), sparse.map((l) => l.name)]).toEqual([['a', 'b'], ['c']]);
  });

  it.each([
    [['a', 'x'], {}, /--binary a,x: no layer named 'x'; the layers of net.npz are a, b, c/],
    [['b'], {}, /layer 'b' is binary \(--binary\) but comes after layer 'a', which goes to the EIE engine/],
    [['a'], {}, /layer 'b' has batch-norm, which only binary layers fold/],
    [['a', 'b'], { density: { a: 0.5, c: 0.5 } }, /--density: layer 'a' is binary/],
    [['a', 'b'], { quality: { z: 1 } }, /--quality: no layer named 'z'/],
  ])('refuses --binary %j (%j)', (names, opts, message) => {
    expect(() => splitHybrid(model, names, opts)).toThrow(message);
  });

  it('refuses a convolution left for the EIE engine', () => {
    const conv = fc('k', 2, 4 * 9, { conv: { inChannels: 4, inHeight: 3, inWidth: 3, kernel: 3, padding: 'same' } });
    expect(() => splitHybrid({ source: 'm', layers: [fc('a', 4, 6), conv] }, ['a'], {})).toThrow(/layer 'k' is a convolution, which only the XNOR units run; name it in --binary/);
  });
});

describe('compressHybrid', () => {
  it('folds into the first EIE layer only, with its codebook doubled from one bit of headroom', () => {
    const model: FloatModel = { source: 'm', layers: [fc('a', 8, 5), fc('b', 6, 8), fc('c', 3, 6, { relu: false })] };
    // an accumulator wide enough that the codebook's width, not the accumulator, bounds its fractional bits
    const numeric: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 40 };
    const { network, details } = compressHybrid(model, ['a'], {
      binary: { numeric, firstInput: 'fixed' },
      sparse: { bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric },
    });
    const [x, e] = network.segments as [BinaryBundle, Bundle];
    expect(x.layers.map((l) => [l.name, l.output])).toEqual([['a', 'threshold']]);
    expect(e.layers.map((l) => l.name)).toEqual(['b', 'c']);
    expect(details).toHaveLength(2);
    expect(e.layers[0].codebook.every((q) => q % 2 === 0 && Math.abs(q) < 2 ** 15)).toBe(true);
    expect(Math.max(...e.layers[0].codebook.map(Math.abs))).toBeGreaterThan(2 ** 14); // the headroom is used, not wasted
    expect(e.layers[1].codebook.some((q) => q % 2 !== 0)).toBe(true);
  });

  it('permuteColumns puts column order[k] at k', () => {
    const l = fc('a', 2, 3);
    const p = permuteColumns(l, Int32Array.from([2, 0, 1]));
    expect(Array.from(p.weight)).toEqual([l.weight[2], l.weight[0], l.weight[1], l.weight[5], l.weight[3], l.weight[4]]);
  });
});

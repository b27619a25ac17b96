import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { compressModel, type LayerDetail } from '../compress/compress.js';
import type { EieLayer, FloatLayer, NumericFormat } from '../model/types.js';
import { noSaturations } from './saturation.js';
import { bundleForward, bundleForwardBatch, quantizeInput } from './eie.js';

/**
 * An independent dense reference of the hardware arithmetic, written from the spec in docs/numbers.md:
 * acc starts at the bias, adds codebook[code] × a[j] for j ascending, clamping to accBits after each add;
 * the result is shifted right by wFrac rounding half up, passed through ReLU and clamped to actBits.
 */
let accClamps = 0;

function denseReference(layer: EieLayer, detail: LayerDetail, n: NumericFormat, x: Int32Array): Int32Array {
  const w = new Array<number>(layer.rows * layer.cols).fill(0);
  detail.kept.forEach((pos, k) => (w[pos] = layer.codebook[detail.codes[k]]));
  const accMax = 2 ** (n.accBits - 1) - 1;
  const actMax = 2 ** (n.actBits - 1) - 1;
  const y = new Int32Array(layer.rows);
  for (let i = 0; i < layer.rows; i++) {
    let acc = layer.bias[i];
    for (let j = 0; j < layer.cols; j++) {
      const sum = acc + w[i * layer.cols + j] * x[j];
      acc = Math.min(accMax, Math.max(-accMax - 1, sum));
      if (acc !== sum) accClamps++;
    }
    let out = Math.floor((acc + (layer.wFrac > 0 ? 2 ** (layer.wFrac - 1) : 0)) / 2 ** layer.wFrac);
    if (layer.relu) out = Math.max(0, out);
    y[i] = Math.min(actMax, Math.max(-actMax - 1, out));
  }
  return y;
}

function mlp(r: () => number, sizes: number[], scale: number, relu: boolean[]): FloatLayer[] {
  return sizes.slice(1).map((rows, l) => ({
    name: `fc${l}`,
    rows,
    cols: sizes[l],
    weight: gaussianMatrix(r, rows * sizes[l], scale),
    bias: gaussianMatrix(r, rows, scale),
    relu: relu[l],
  }));
}

const FORMATS: NumericFormat[] = [
  { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 },
  { actBits: 8, actFrac: 4, weightBits: 8, accBits: 16 }, // narrow: saturates often
  { actBits: 12, actFrac: 0, weightBits: 6, accBits: 18 },
];

describe('golden EIE model', () => {
  it('equals the dense fixed-point reference over many seeds, formats and PE counts', () => {
    let saturated = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const n = FORMATS[seed % FORMATS.length];
      const sizes = Array.from({ length: randInt(r, 2, 4) }, () => randInt(r, 1, 40));
      const layers = mlp(r, sizes, seed % 5 === 0 ? 3 : 0.3, sizes.map(() => r() < 0.6));
      const pes = [1, 2, 3, 4, 8, 16][seed % 6];
      const density = [0.05, 0.2, 0.6, 1][seed % 4];
      const { bundle, details } = compressModel({ source: 't', layers }, { density, bits: 4, sparse: { pes, vBits: 4, zBits: 2 }, numeric: n });
      const x = quantizeInput(Array.from({ length: sizes[0] }, () => (seed % 3 === 0 ? 0 : gaussian(r) * 4)), n);
      const outs = bundleForward(bundle, x);
      let a = x;
      bundle.layers.forEach((layer, l) => {
        const want = denseReference(layer, details[l], n, a);
        expect(outs[l], `seed ${seed} layer ${l}`).toEqual(want);
        const actMax = 2 ** (n.actBits - 1) - 1;
        saturated += want.filter((v) => v === actMax || v === -actMax - 1).length;
        a = want;
      });
    }
    // the seeds above must saturate both the accumulator and the output, or those paths go untested
    expect(saturated).toBeGreaterThan(0);
    expect(accClamps).toBeGreaterThan(0);
  });

  it('gives each input of a batch the outputs and saturation counts it gets alone', () => {
    let counted = 0;
    for (let seed = 1; seed <= 24; seed++) {
      const r = rng(seed);
      const n = FORMATS[seed % FORMATS.length];
      const sizes = Array.from({ length: randInt(r, 2, 3) }, () => randInt(r, 1, 30));
      const layers = mlp(r, sizes, seed % 4 === 0 ? 3 : 0.3, sizes.map(() => r() < 0.6));
      const { bundle } = compressModel({ source: 't', layers }, { density: [0.1, 0.5, 1][seed % 3], bits: 4, sparse: { pes: [1, 3, 4][seed % 3], vBits: 4, zBits: 2 }, numeric: n });
      // some inputs all zeros, some sparse, some dense: the batch skips a column only where every input is 0
      const xs = Array.from({ length: randInt(r, 1, 7) }, (_, b) =>
        quantizeInput(Array.from({ length: sizes[0] }, () => (b % 3 === 0 ? 0 : r() < 0.5 ? 0 : gaussian(r) * 4)), n),
      );
      const alone = bundle.layers.map(noSaturations);
      const want = xs.map((x) => bundleForward(bundle, x, alone));
      const together = bundle.layers.map(noSaturations);
      const got = bundleForwardBatch(bundle, xs, together);
      xs.forEach((_, b) => bundle.layers.forEach((_, l) => expect(got[l][b], `seed ${seed} input ${b} layer ${l}`).toEqual(want[b][l])));
      expect(together).toEqual(alone);
      counted += alone.reduce((t, s) => t + s.accumulator + s.outputs, 0);
    }
    expect(counted).toBeGreaterThan(0);
  });
});

import { bundleForwardBatch, quantizeInput } from '../golden/eie.js';
import { fromFixed } from '../model/fixed.js';
import { floatForwardBatch } from '../golden/float.js';
import { noSaturations, type Saturations } from '../golden/saturation.js';
import type { Bundle, FloatModel } from '../model/types.js';

/** What compression and fixed point cost, measured on random inputs against the float network. */
export interface Fidelity {
  samples: number;
  /** RMS(golden − float) / RMS(float) over the last layer's outputs. */
  relativeRms: number;
  /** Fraction of inputs whose largest output is the same output in both (what a classifier would answer). */
  argmaxAgreement: number;
  /** Per layer, what fixed point clipped over the samples: any count above 0 means the format is too narrow. */
  saturations: Saturations[];
}

/**
 * Runs `samples` inputs drawn from N(0, 1) (half of them zeroed, like ReLU outputs) through the original
 * float network and the golden model of the bundle. Seeded: the same model gives the same figures.
 */
export function measureFidelity(model: FloatModel, bundle: Bundle, samples = 16, seed = 1): Fidelity {
  const { u, gauss } = random(seed);
  const xs = Array.from({ length: samples }, () => Array.from({ length: model.layers[0].cols }, () => (u() < 0.5 ? 0 : gauss())));
  return compare(model, bundle, xs, (x, sat) => quantizeInput(x, bundle.numeric, sat));
}

/**
 * The EIE segment of a hybrid network on random bit maps: the float layers on the ±1 the bits stand for,
 * the golden model on the 0 / 1.0 the boundary gives (the fold of src/compress/hybrid.ts bridges the two).
 */
export function measureBitFidelity(model: FloatModel, bundle: Bundle, samples = 16, seed = 1): Fidelity {
  const { u } = random(seed);
  const bits = Array.from({ length: samples }, () => Array.from({ length: model.layers[0].cols }, () => (u() < 0.5 ? 0 : 1)));
  const one = 2 ** bundle.numeric.actFrac;
  return compare(model, bundle, bits.map((b) => b.map((x) => 2 * x - 1)), (_x, _sat, n) => Int32Array.from(bits[n], (b) => b * one));
}

function random(seed: number): { u: () => number; gauss: () => number } {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return { u, gauss: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

function compare(model: FloatModel, bundle: Bundle, xs: number[][], fixed: (x: number[], sat: Saturations, n: number) => Int32Array): Fidelity {
  const samples = xs.length;
  let err = 0;
  let ref = 0;
  let agree = 0;
  const saturations = bundle.layers.map(noSaturations);
  const wants = floatForwardBatch(model, xs);
  const outs = bundleForwardBatch(bundle, xs.map((x, n) => fixed(x, saturations[0], n)), saturations);
  for (let n = 0; n < samples; n++) {
    const want = wants[n];
    const got = Array.from(outs[outs.length - 1][n], (q) => fromFixed(q, bundle.numeric.actFrac));
    want.forEach((w, i) => {
      err += (got[i] - w) ** 2;
      ref += w ** 2;
    });
    if (argmax(got) === argmax(want)) agree++;
  }
  return { samples, relativeRms: ref > 0 ? Math.sqrt(err / ref) : Math.sqrt(err), argmaxAgreement: agree / samples, saturations };
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

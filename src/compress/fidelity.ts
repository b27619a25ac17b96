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
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  let err = 0;
  let ref = 0;
  let agree = 0;
  const saturations = bundle.layers.map(noSaturations);
  const xs = Array.from({ length: samples }, () => Array.from({ length: model.layers[0].cols }, () => (u() < 0.5 ? 0 : gauss())));
  const wants = floatForwardBatch(model, xs);
  const outs = bundleForwardBatch(bundle, xs.map((x) => quantizeInput(x, bundle.numeric, saturations[0])), saturations);
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

import type { Bundle, EieLayer, NumericFormat } from '../model/types.js';
import { roundShift, saturate, signedRange, toFixed } from '../model/fixed.js';
import type { Saturations } from './saturation.js';

/**
 * What the EIE engine computes, bit for bit, straight from the encoded layer:
 *   acc[i] = bias[i]; for each column j in ascending order with a[j] != 0, for each entry of j:
 *   acc[i] = sat_acc(acc[i] + codebook[v] * a[j]);
 *   y[i] = sat_act(relu(roundShift(acc[i], wFrac))).
 * The order matters because every addition saturates; the hardware broadcasts columns in ascending order.
 * `sat`, when given, counts the additions and outputs that saturated (over all the inputs).
 *
 * Several inputs go in one pass over the stored entries, each input's additions in the same order as alone (a
 * row lives in one PE, whose columns come in ascending order), so the same bits. Decoding each entry once
 * instead of once per input is most of `hwgen compress`'s check.
 */
export function eieLayerForwardBatch(layer: EieLayer, numeric: NumericFormat, inputs: Int32Array[], sat?: Saturations): Int32Array[] {
  const n = inputs.length;
  const { cols, rows } = layer;
  const pes = layer.slices.length;
  // acc[i·n + b]: row i of input b
  const acc = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) acc.fill(layer.bias[i], i * n, (i + 1) * n);
  const cb = layer.codebook;
  const { min, max } = signedRange(numeric.accBits);
  // Per column, the inputs whose activation is not 0 and its value: the engine broadcasts only those.
  const first = new Int32Array(cols + 1);
  const who = new Int32Array(cols * n);
  const act = new Float64Array(cols * n);
  let m = 0;
  for (let j = 0; j < cols; j++) {
    first[j] = m;
    for (let b = 0; b < n; b++) {
      if (inputs[b][j] === 0) continue;
      who[m] = b;
      act[m++] = inputs[b][j];
    }
  }
  first[cols] = m;
  let adds = 0;
  layer.slices.forEach((slice, p) => {
    const { ptr, z, v } = slice;
    for (let j = 0; j < cols; j++) {
      const q0 = first[j];
      const q1 = first[j + 1];
      if (q0 === q1) continue;
      let local = -1;
      for (let e = ptr[j]; e < ptr[j + 1]; e++) {
        local += z[e] + 1;
        const row = (local * pes + p) * n;
        const w = cb[v[e]];
        for (let q = q0; q < q1; q++) {
          const k = row + who[q];
          const sum = acc[k] + w * act[q];
          const s = sum > max ? max : sum < min ? min : sum;
          acc[k] = s;
          if (s !== sum) adds++;
        }
      }
    }
  });
  let clipped = 0;
  const outs = inputs.map((_, b) => {
    const out = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      let y = roundShift(acc[i * n + b], layer.wFrac);
      if (layer.relu && y < 0) y = 0;
      out[i] = saturate(y, numeric.actBits);
      if (out[i] !== y) clipped++;
    }
    return out;
  });
  if (sat) {
    sat.accumulator += adds;
    sat.outputs += clipped;
  }
  return outs;
}

/** Runs every layer in turn; returns each layer's output (the last is the network's). `sat[l]` counts layer l's. */
export function bundleForward(bundle: Bundle, input: Int32Array, sat?: Saturations[]): Int32Array[] {
  return bundleForwardBatch(bundle, [input], sat).map((outs) => outs[0]);
}

/** bundleForward for several inputs: per layer, each input's output. */
export function bundleForwardBatch(bundle: Bundle, inputs: Int32Array[], sat?: Saturations[]): Int32Array[][] {
  for (const input of inputs) checkInput(bundle, input);
  const outs: Int32Array[][] = [];
  let x = inputs;
  for (const [l, layer] of bundle.layers.entries()) {
    x = eieLayerForwardBatch(layer, bundle.numeric, x, sat?.[l]);
    outs.push(x);
  }
  return outs;
}

function checkInput(bundle: Bundle, input: Int32Array): void {
  const cols = bundle.layers[0]?.cols;
  if (input.length !== cols) throw new RangeError(`input has ${input.length} values, the first layer takes ${cols}`);
}

/** Float inputs to the activation format; `sat`, when given, counts the values that clipped. */
export function quantizeInput(x: ArrayLike<number>, numeric: NumericFormat, sat?: Saturations): Int32Array {
  const out = new Int32Array(x.length);
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = toFixed(x[i], numeric.actFrac, numeric.actBits);
    if (out[i] !== Math.round(x[i] * 2 ** numeric.actFrac)) clipped++;
  }
  if (sat) sat.inputs += clipped;
  return out;
}

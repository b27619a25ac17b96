import type { Bundle, EieLayer, NumericFormat } from '../model/types.js';
import { roundShift, saturate, toFixed } from '../model/fixed.js';
import type { Saturations } from './saturation.js';

/**
 * What the EIE engine computes, bit for bit, straight from the encoded layer:
 *   acc[i] = bias[i]; for each column j in ascending order with a[j] != 0, for each entry of j:
 *   acc[i] = sat_acc(acc[i] + codebook[v] * a[j]);
 *   y[i] = sat_act(relu(roundShift(acc[i], wFrac))).
 * The order matters because every addition saturates; the hardware broadcasts columns in ascending order.
 * `sat`, when given, counts the additions and outputs that saturated.
 */
export function eieLayerForward(layer: EieLayer, numeric: NumericFormat, input: Int32Array, sat?: Saturations): Int32Array {
  const pes = layer.slices.length;
  const acc = Float64Array.from(layer.bias);
  const cb = layer.codebook;
  let adds = 0;
  layer.slices.forEach((slice, p) => {
    for (let j = 0; j < layer.cols; j++) {
      const a = input[j];
      if (a === 0) continue;
      let local = -1;
      for (let e = slice.ptr[j]; e < slice.ptr[j + 1]; e++) {
        local += slice.z[e] + 1;
        const i = local * pes + p;
        const sum = acc[i] + cb[slice.v[e]] * a;
        acc[i] = saturate(sum, numeric.accBits);
        if (acc[i] !== sum) adds++;
      }
    }
  });
  const out = new Int32Array(layer.rows);
  let clipped = 0;
  for (let i = 0; i < layer.rows; i++) {
    let y = roundShift(acc[i], layer.wFrac);
    if (layer.relu && y < 0) y = 0;
    out[i] = saturate(y, numeric.actBits);
    if (out[i] !== y) clipped++;
  }
  if (sat) {
    sat.accumulator += adds;
    sat.outputs += clipped;
  }
  return out;
}

/** Runs every layer in turn; returns each layer's output (the last is the network's). `sat[l]` counts layer l's. */
export function bundleForward(bundle: Bundle, input: Int32Array, sat?: Saturations[]): Int32Array[] {
  checkInput(bundle, input);
  const outs: Int32Array[] = [];
  let x = input;
  for (const [l, layer] of bundle.layers.entries()) {
    x = eieLayerForward(layer, bundle.numeric, x, sat?.[l]);
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

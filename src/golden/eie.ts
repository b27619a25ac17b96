import { forEachEntry } from '../compress/csc.js';
import type { Bundle, EieLayer, NumericFormat } from '../model/types.js';
import { roundShift, saturate, saturator, toFixed } from './fixed.js';

/**
 * What the EIE engine computes, bit for bit, straight from the encoded layer:
 *   acc[i] = bias[i]; for each column j in ascending order with a[j] != 0, for each entry of j:
 *   acc[i] = sat_acc(acc[i] + codebook[v] * a[j]);
 *   y[i] = sat_act(relu(roundShift(acc[i], wFrac))).
 * The order matters because every addition saturates; the hardware broadcasts columns in ascending order.
 */
export function eieLayerForward(layer: EieLayer, numeric: NumericFormat, input: Int32Array): Int32Array {
  const pes = layer.slices.length;
  const acc = Float64Array.from(layer.bias);
  const cb = layer.codebook;
  const satAcc = saturator(numeric.accBits);
  layer.slices.forEach((slice, p) => {
    for (let j = 0; j < layer.cols; j++) {
      const a = input[j];
      if (a === 0) continue;
      let local = -1;
      for (let e = slice.ptr[j]; e < slice.ptr[j + 1]; e++) {
        local += slice.z[e] + 1;
        const i = local * pes + p;
        acc[i] = satAcc(acc[i] + cb[slice.v[e]] * a);
      }
    }
  });
  const out = new Int32Array(layer.rows);
  for (let i = 0; i < layer.rows; i++) {
    let y = roundShift(acc[i], layer.wFrac);
    if (layer.relu && y < 0) y = 0;
    out[i] = saturate(y, numeric.actBits);
  }
  return out;
}

/** Runs every layer in turn; returns each layer's output (the last is the network's). */
export function bundleForward(bundle: Bundle, input: Int32Array): Int32Array[] {
  checkInput(bundle, input);
  const outs: Int32Array[] = [];
  let x = input;
  for (const layer of bundle.layers) {
    x = eieLayerForward(layer, bundle.numeric, x);
    outs.push(x);
  }
  return outs;
}

function checkInput(bundle: Bundle, input: Int32Array): void {
  const cols = bundle.layers[0]?.cols;
  if (input.length !== cols) throw new RangeError(`input has ${input.length} values, the first layer takes ${cols}`);
}

/** Float inputs to the activation format. */
export function quantizeInput(x: ArrayLike<number>, numeric: NumericFormat): Int32Array {
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = toFixed(x[i], numeric.actFrac, numeric.actBits);
  return out;
}

/** Dense decode of an EIE layer: W[i][j] as codebook integers (row-major), for export and references. */
export function decodeDenseCodes(layer: EieLayer): Int32Array {
  const pes = layer.slices.length;
  const w = new Int32Array(layer.rows * layer.cols);
  layer.slices.forEach((slice, p) =>
    forEachEntry(slice, layer.cols, (local, j, v) => {
      if (v !== 0) w[(local * pes + p) * layer.cols + j] = layer.codebook[v];
    }),
  );
  return w;
}

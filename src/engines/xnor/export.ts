import { fromFixed } from '../../model/fixed.js';
import { weightRow } from '../../model/layout.js';
import type { NdArray } from '../../model/ndarray.js';
import type { BinaryBundle } from '../../model/types.js';

/**
 * A binary bundle as arrays: NAME.weight (float32 ±1, [rows, cols] in the hardware's column order), and per kind
 * NAME.threshold (int64) + NAME.flip (uint8), or NAME.alpha and NAME.bias (float32 real values). Batch-norm is
 * folded and cannot be recovered.
 */
export function xnorExportArrays(b: BinaryBundle): { name: string; array: NdArray }[] {
  const out: { name: string; array: NdArray }[] = [];
  for (const l of b.layers) {
    const w = new Float32Array(l.rows * l.cols);
    for (let i = 0; i < l.rows; i++) weightRow(l, i).forEach((bit, k) => (w[i * l.cols + k] = bit ? 1 : -1));
    out.push({ name: `${l.name}.weight`, array: { dtype: 'f4', shape: [l.rows, l.cols], data: w } });
    if (l.output === 'threshold') {
      out.push({ name: `${l.name}.threshold`, array: { dtype: 'i8', shape: [l.rows], data: BigInt64Array.from(l.threshold, (t) => BigInt(t)) } });
      out.push({ name: `${l.name}.flip`, array: { dtype: 'u1', shape: [l.rows], data: Uint8Array.from(l.flip) } });
    } else {
      const fIn = l.input === 'fixed' ? b.numeric.actFrac : 0;
      out.push({ name: `${l.name}.alpha`, array: { dtype: 'f4', shape: [l.rows], data: Float32Array.from(l.alpha, (a) => fromFixed(a, l.alphaFrac)) } });
      out.push({ name: `${l.name}.bias`, array: { dtype: 'f4', shape: [l.rows], data: Float32Array.from(l.bias, (x) => fromFixed(x, l.alphaFrac + fIn)) } });
    }
  }
  return out;
}

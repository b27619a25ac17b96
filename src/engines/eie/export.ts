import { decodeDenseCodes } from '../../model/layout.js';
import { fromFixed } from '../../model/fixed.js';
import type { NdArray } from '../../model/ndarray.js';
import type { Bundle } from '../../model/types.js';

/**
 * The arrays `hwgen export` writes: NAME.weight (float32 [rows, cols], the shared weight at every kept
 * position, 0 elsewhere) and NAME.bias (float32 [rows]) — the naming `hwgen compress` reads, so an export
 * can be compressed again. Biases wider than float32's 24-bit mantissa round.
 */
export function eieExportArrays(bundle: Bundle): { name: string; array: NdArray }[] {
  const out: { name: string; array: NdArray }[] = [];
  for (const l of bundle.layers) {
    const weight = Float32Array.from(decodeDenseCodes(l), (q) => fromFixed(q, l.wFrac));
    const bias = Float32Array.from(l.bias, (q) => fromFixed(q, bundle.numeric.actFrac + l.wFrac));
    out.push({ name: `${l.name}.weight`, array: { dtype: 'f4', shape: [l.rows, l.cols], data: weight } });
    out.push({ name: `${l.name}.bias`, array: { dtype: 'f4', shape: [l.rows], data: bias } });
  }
  return out;
}

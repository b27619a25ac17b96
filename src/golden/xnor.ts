import type { BinaryBundle, NumericFormat, XnorLayer } from '../model/types.js';
import { convGeometry, getBit, layerInputs, rowBytes, scoreShift } from '../model/layout.js';
import type { Saturations } from './saturation.js';

/**
 * What the XNOR units compute, bit for bit (docs/xnor.md). Activations travel as Int32Array: 0/1 per element
 * between binary layers (bit 1 stands for +1, bit 0 for −1), fixed-point integers into a BWN layer and out of
 * a scores layer. Per output i of a layer over K inputs:
 *   binary input:  acc = popcount(XNOR(w_i, x))            (0..K; padding lanes never count)
 *   fixed input:   acc = Σ_k (w_ik ? x_k : −x_k)            (exact; the hardware accumulator never overflows)
 *   threshold out: bit = (acc >= T_i) XOR flip_i
 *   scores out:    dot = binary ? 2·acc − K : acc
 *                  y   = saturate(roundShift(A_i · dot + B_i, shift), actBits)   (exact, round half up)
 *                  shift = alphaFrac + (fixed input ? actFrac : 0) − actFrac
 * A convolution runs the same per output position over its window (channel fastest, stride 1); 'same' pads
 * with +1 (bit 1) for binary input and 0 for fixed input; a pool window p ORs p×p output bits (max-pool).
 */

/** Right shift with round half up: floor((x + 2^(s−1)) / 2^s), exact on BigInt. */
function roundShiftBig(x: bigint, s: number): bigint {
  if (s === 0) return x;
  return (x + (1n << BigInt(s - 1))) >> BigInt(s);
}

/** The value a 'same' convolution reads outside the feature map. */
export function padValue(l: XnorLayer): number {
  return l.input === 'binary' ? 1 : 0;
}

/** The K inputs of every output position (one vector for a fully-connected layer), the im2col of a conv. */
export function windows(l: XnorLayer, x: Int32Array): Int32Array[] {
  if (!l.conv) return [x];
  const c = l.conv;
  const { outH, outW, padTop, padLeft } = convGeometry(c);
  const out: Int32Array[] = [];
  const pad = padValue(l);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const v = new Int32Array(l.cols);
      let k = 0;
      for (let ky = 0; ky < c.kernel; ky++) {
        for (let kx = 0; kx < c.kernel; kx++) {
          const y = oy + ky - padTop;
          const xx = ox + kx - padLeft;
          const inside = y >= 0 && y < c.inHeight && xx >= 0 && xx < c.inWidth;
          for (let ch = 0; ch < c.inChannels; ch++) v[k++] = inside ? x[(y * c.inWidth + xx) * c.inChannels + ch] : pad;
        }
      }
      out.push(v);
    }
  }
  return out;
}

/** The accumulator of every output for one input vector of K values. */
export function accumulate(l: XnorLayer, x: Int32Array): number[] {
  const acc: number[] = [];
  const rb = rowBytes(l.cols);
  for (let i = 0; i < l.rows; i++) {
    const row = l.weights.subarray(i * rb, (i + 1) * rb);
    let a = 0;
    for (let k = 0; k < l.cols; k++) {
      const w = getBit(row, k);
      if (l.input === 'binary') a += w === (x[k] & 1) ? 1 : 0;
      else a += w ? x[k] : -x[k];
    }
    acc.push(a);
  }
  return acc;
}

/** A scores layer's output from its accumulator; `sat`, when given, counts a clipped score. */
export function score(l: XnorLayer, numeric: NumericFormat, i: number, acc: number, sat?: Saturations): number {
  const dot = l.input === 'binary' ? 2 * acc - l.cols : acc;
  const shift = scoreShift(l, numeric);
  const y = roundShiftBig(BigInt(l.alpha[i]) * BigInt(dot) + BigInt(l.bias[i]), shift);
  const lim = 2n ** BigInt(numeric.actBits - 1);
  if (sat && (y >= lim || y < -lim)) sat.outputs++;
  return Number(y >= lim ? lim - 1n : y < -lim ? -lim : y);
}

/** The threshold output bit from an accumulator. */
export function thresholdBit(l: XnorLayer, i: number, acc: number): number {
  return Number(acc >= l.threshold[i]) ^ l.flip[i];
}

/** One layer, exactly as the hardware computes it; `sat`, when given, counts clipped scores. */
export function xnorLayerForward(l: XnorLayer, numeric: NumericFormat, x: Int32Array, sat?: Saturations): Int32Array {
  if (x.length !== layerInputs(l)) throw new RangeError(`layer '${l.name}' takes ${layerInputs(l)} inputs, got ${x.length}`);
  const ws = windows(l, x);
  const full = new Int32Array(ws.length * l.rows);
  ws.forEach((v, pos) => {
    accumulate(l, v).forEach((a, i) => {
      full[pos * l.rows + i] = l.output === 'scores' ? score(l, numeric, i, a, sat) : thresholdBit(l, i, a);
    });
  });
  return l.conv && l.pool > 1 ? maxPool(full, l) : full;
}

/** Binary max-pool: the OR of each p×p window of bits (stride p; a remainder row or column is dropped). */
export function maxPool(bits: Int32Array, l: XnorLayer): Int32Array {
  const { outH, outW } = convGeometry(l.conv!);
  const p = l.pool;
  const ph = Math.floor(outH / p);
  const pw = Math.floor(outW / p);
  const out = new Int32Array(ph * pw * l.rows);
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      for (let m = 0; m < l.rows; m++) {
        let b = 0;
        for (let dy = 0; dy < p; dy++) for (let dx = 0; dx < p; dx++) b |= bits[((y * p + dy) * outW + x * p + dx) * l.rows + m];
        out[(y * pw + x) * l.rows + m] = b;
      }
    }
  }
  return out;
}

/** Runs every layer in turn; returns each layer's output (the last is the network's). `sat[l]` counts layer l's. */
export function binaryForward(bundle: BinaryBundle, input: Int32Array, sat?: Saturations[]): Int32Array[] {
  const outs: Int32Array[] = [];
  let x = input;
  for (const [i, l] of bundle.layers.entries()) {
    x = xnorLayerForward(l, bundle.numeric, x, sat?.[i]);
    outs.push(x);
  }
  return outs;
}

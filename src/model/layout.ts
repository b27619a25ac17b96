import type { ConvShape, EieLayer, NumericFormat, PeSlice, XnorLayer } from './types.js';

/**
 * Layout facts of the compressed formats that the bundle codec, the golden models, the generator and the
 * driver all need: which rows a PE holds, how a PE's CSC slice is walked, how binary rows are packed, the
 * geometry of a convolution. Pure functions of the formats in types.ts.
 */

/** Rows that PE p holds for a layer of `rows` rows. */
export function localRows(rows: number, pes: number, p: number): number {
  return p < rows ? Math.ceil((rows - p) / pes) : 0;
}

/** Walks one PE's slice: calls fn(localRow, col, v) for every entry, padding included. */
export function forEachEntry(slice: PeSlice, cols: number, fn: (localRow: number, col: number, v: number) => void): void {
  for (let j = 0; j < cols; j++) {
    let row = -1;
    for (let e = slice.ptr[j]; e < slice.ptr[j + 1]; e++) {
      row += slice.z[e] + 1;
      fn(row, j, slice.v[e]);
    }
  }
}

/** Bytes of one packed row of `cols` bits. */
export function rowBytes(cols: number): number {
  return Math.ceil(cols / 8);
}

/** Bit k of a packed array (LSB-first within a byte). */
export function getBit(bytes: Uint8Array, k: number): number {
  return (bytes[k >> 3] >> (k & 7)) & 1;
}

/** Packs 0/1 values LSB-first; trailing bits of the last byte are 0. */
export function packBits(bits: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(rowBytes(bits.length));
  for (let k = 0; k < bits.length; k++) if (bits[k]) out[k >> 3] |= 1 << (k & 7);
  return out;
}

/** The weight bits of row i as 0/1 values. */
export function weightRow(layer: XnorLayer, i: number): Uint8Array {
  const rb = rowBytes(layer.cols);
  const bytes = layer.weights.subarray(i * rb, (i + 1) * rb);
  return Uint8Array.from({ length: layer.cols }, (_, k) => getBit(bytes, k));
}

/** Output size of a convolution along one axis, and the padding before the first input. */
export function convGeometry(c: ConvShape): { outH: number; outW: number; padTop: number; padLeft: number } {
  if (c.padding === 'same') {
    return { outH: c.inHeight, outW: c.inWidth, padTop: (c.kernel - 1) >> 1, padLeft: (c.kernel - 1) >> 1 };
  }
  return { outH: c.inHeight - c.kernel + 1, outW: c.inWidth - c.kernel + 1, padTop: 0, padLeft: 0 };
}

/** Inputs the layer takes (a flattened feature map for a convolution). */
export function layerInputs(l: XnorLayer): number {
  return l.conv ? l.conv.inHeight * l.conv.inWidth * l.conv.inChannels : l.cols;
}

/** Outputs the layer gives (after pooling, for a convolution). */
export function layerOutputs(l: XnorLayer): number {
  if (!l.conv) return l.rows;
  const { outH, outW } = convGeometry(l.conv);
  return Math.floor(outH / l.pool) * Math.floor(outW / l.pool) * l.rows;
}

/** Right shift that brings A·dot + B (alphaFrac + input fraction) to the activation format. */
export function scoreShift(l: XnorLayer, numeric: NumericFormat): number {
  return l.alphaFrac + (l.input === 'fixed' ? numeric.actFrac : 0) - numeric.actFrac;
}

/** Range of a BWN accumulator over K inputs of actBits (±x reaches 2^(actBits−1) for x = −2^(actBits−1)). */
export function bwnAccRange(cols: number, actBits: number): { min: number; max: number } {
  const m = cols * 2 ** (actBits - 1);
  return { min: -m, max: m };
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

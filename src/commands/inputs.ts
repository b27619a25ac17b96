import { readFileChecked, type NamedPath } from '../atomic.js';
import { HwgenError } from '../errors.js';
import { parseIdx } from '../model/idx.js';
import { sizeOf, toFloat64, type NdArray } from '../model/ndarray.js';
import { parseNpy } from '../model/npy.js';
import type { ConvShape } from '../model/types.js';

/**
 * Input rows as real values from a .npy vector or batch (`hwgen sim`). For a convolution first, images come as
 * frameworks keep them, [C, H, W] or [n, C, H, W] (or rows of C·H·W in that order), and are reordered
 * channel-fastest.
 */
export function readInputs(path: string, cols: number, conv?: ConvShape): Float64Array[] {
  const a = parseNpy(readFileChecked(path, 'input'), path);
  const image = conv ? [conv.inChannels, conv.inHeight, conv.inWidth] : undefined;
  const isImages = image && (a.shape.length === 3 || a.shape.length === 4) && a.shape.slice(-3).join() === image.join();
  const rows = a.shape.length === 1 || (isImages && a.shape.length === 3) ? 1 : a.shape[0];
  if (!isImages && (a.shape.length < 1 || a.shape.length > 2 || a.shape[a.shape.length - 1] !== cols)) {
    const images = image ? `, (${image.join(', ')}) or (n, ${image.join(', ')})` : '';
    throw new HwgenError(`${path}: inputs have shape (${a.shape.join(', ')}); the first layer takes (${cols}) or (n, ${cols})${images}`);
  }
  if (a.dtype === 'b1') throw new HwgenError(`${path}: inputs are bool; give real values (float or int)`);
  return rowsOf(path, a, rows, cols, conv);
}

/**
 * Inputs for `hwgen run`: a .npy of float32 (or float64) values, one row per input of any shape whose size is
 * the first layer's ([n, 784] or [n, 1, 28, 28] for the default models), or a gzipped (or plain) IDX images
 * file of unsigned bytes read as value / 255, as the default models were trained. Everything is checked
 * before a byte goes to the board.
 */
export function readRunInputs(path: string, cols: number, conv?: ConvShape): Float64Array[] {
  const bytes = readFileChecked(path, 'input');
  if (isIdx(bytes)) {
    const idx = parseIdx(bytes, path);
    if (!(idx.data instanceof Uint8Array)) throw new HwgenError(`${path}: an IDX images file holds unsigned bytes (pixels 0..255); this one holds another type`);
    const per = sizeOf(idx.dims.slice(1));
    if (idx.dims.length < 2 || per !== cols) {
      throw new HwgenError(`${path}: IDX images of dimensions ${idx.dims.join(' x ')}; the first layer takes ${cols} values per image (n x ${cols}, or n x H x W with H·W = ${cols})`);
    }
    const scaled = Float64Array.from(idx.data, (v) => v / 255);
    const rows = idx.dims[0];
    if (rows === 0) throw new HwgenError(`${path}: holds no images`);
    return Array.from({ length: rows }, (_, r) => {
      const x = scaled.subarray(r * cols, (r + 1) * cols);
      return conv ? channelFastest(x, conv) : x;
    });
  }
  const a = parseNpy(bytes, path);
  if (a.dtype !== 'f4' && a.dtype !== 'f8') {
    throw new HwgenError(`${path}: inputs are ${a.dtype === 'b1' ? 'bool' : `dtype ${a.dtype}`}; give float32 values (images as pixels / 255, in [0, 1])`);
  }
  const image = conv ? `, e.g. (n, ${conv.inChannels}, ${conv.inHeight}, ${conv.inWidth})` : cols === 784 ? ', e.g. (n, 784) or (n, 1, 28, 28)' : '';
  const rank = a.shape.length;
  const single = rank === 1 || (rank >= 2 && conv !== undefined && rank === 3 && sizeOf(a.shape) === cols);
  const per = single ? sizeOf(a.shape) : sizeOf(a.shape.slice(1));
  if (rank === 0 || per !== cols) {
    throw new HwgenError(`${path}: inputs have shape (${a.shape.join(', ')}); the first layer takes ${cols} values per input: (${cols}) or (n, ${cols})${image}`);
  }
  if (!single && a.shape[0] === 0) throw new HwgenError(`${path}: holds no inputs (shape (${a.shape.join(', ')}))`);
  return rowsOf(path, a, single ? 1 : a.shape[0], cols, conv);
}

/** IDX starts 00 00 with a type code; gzip with 1f 8b (a .npy starts \x93NUMPY). */
function isIdx(b: Uint8Array): boolean {
  return b.length >= 3 && ((b[0] === 0x1f && b[1] === 0x8b) || (b[0] === 0 && b[1] === 0 && b[2] >= 0x08 && b[2] <= 0x0e));
}

/** Labels for `hwgen run --labels`: an IDX file (gzipped or not) of one unsigned byte per input. */
export function readLabels(path: string, count: number): Uint8Array {
  const idx = parseIdx(readFileChecked(path, 'labels'), path);
  if (!(idx.data instanceof Uint8Array) || idx.dims.length !== 1) {
    throw new HwgenError(`${path}: labels are an IDX file of one unsigned byte per input; this one has dimensions ${idx.dims.join(' x ')}`);
  }
  if (idx.dims[0] !== count) throw new HwgenError(`${path}: ${idx.dims[0]} labels for ${count} inputs; give one label per input`);
  return idx.data;
}

function rowsOf(path: string, a: NdArray, rows: number, cols: number, conv?: ConvShape): Float64Array[] {
  const v = toFloat64(a);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new HwgenError(`${path}: input value ${v[bad]} at flat index ${bad}; inputs must be finite`);
  const flat = Array.from({ length: rows }, (_, r) => v.subarray(r * cols, (r + 1) * cols));
  return conv ? flat.map((x) => channelFastest(x, conv)) : flat;
}

/** A [C, H, W] image, flattened, to the hardware's (y, x, c) order. */
function channelFastest(x: Float64Array, c: ConvShape): Float64Array {
  const out = new Float64Array(x.length);
  const [C, H, W] = [c.inChannels, c.inHeight, c.inWidth];
  for (let ch = 0; ch < C; ch++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) out[(y * W + xx) * C + ch] = x[(ch * H + y) * W + xx];
  return out;
}

/** Outputs as a [n, width] array: real values (float32) through `real`, or the integers. */
export function outputArray(outputs: Int32Array[], width: number, real?: (q: number) => number): NdArray {
  const n = outputs.length;
  const flat = new Int32Array(n * width);
  outputs.forEach((y, i) => flat.set(y, i * width));
  if (!real) return { dtype: 'i4', shape: [n, width], data: flat };
  return { dtype: 'f4', shape: [n, width], data: Float32Array.from(flat, real) };
}

/**
 * The files a board in use is made of, as inputs no output may overwrite: a `sim:` board's folder (its model
 * executable and manifest), a serial port's device, an XDMA prefix's two channels (host/transports/xdma.ts).
 */
export function boardFiles(url: string): NamedPath[] {
  const m = /^([a-z]+):(.+?)(?:\?.*)?$/.exec(url);
  if (m?.[1] === 'sim') return [{ path: m[2], flag: 'the board folder', folder: true }];
  if (m?.[1] === 'serial') return [{ path: m[2], flag: "the board's port" }];
  if (m?.[1] === 'xdma') return ['_h2c_0', '_c2h_0'].map((c) => ({ path: m[2] + c, flag: "the board's XDMA channel" }));
  return [];
}

import { bwnAccRange, convGeometry, layerOutputs, packBits } from '../../src/model/layout.js';
import type { BinaryBundle, Bundle, ConvShape, EieLayer, Network, NumericFormat, SparseFormat, XnorLayer } from '../../src/model/types.js';
import { toSlices } from './csc-reference.js';
import { randInt, rng } from './random.js';

/**
 * Small random hybrid networks for tests: an XNOR segment of binary convolutions (with pooling, odd sizes,
 * either first-layer kind) and fully-connected threshold layers, feeding an EIE segment of sparse FC layers.
 */

function signed(r: () => number, bits: number): number {
  const max = 2 ** (bits - 1) - 1;
  return randInt(r, -max - 1, max);
}

function bitRows(r: () => number, rows: number, cols: number): Uint8Array {
  return Uint8Array.from(Array.from({ length: rows }, () => Array.from(packBits(Array.from({ length: cols }, () => (r() < 0.5 ? 1 : 0))))).flat());
}

function thresholdLayer(r: () => number, name: string, rows: number, cols: number, input: XnorLayer['input'], numeric: NumericFormat, conv?: ConvShape, pool = 1): XnorLayer {
  // thresholds near the middle of the accumulator's range, so both bit values occur
  const { min, max } = input === 'binary' ? { min: 0, max: cols } : bwnAccRange(cols, numeric.actBits);
  const mid = input === 'binary' ? cols / 2 : 0;
  const spread = input === 'binary' ? cols / 2 : Math.min(max, cols * 2 ** (numeric.actFrac + 1));
  return {
    kind: 'xnor', name, rows, cols, input, output: 'threshold',
    weights: bitRows(r, rows, cols),
    threshold: Float64Array.from({ length: rows }, () => Math.max(min, Math.min(max + 1, Math.round(mid + (r() * 2 - 1) * spread)))),
    flip: Uint8Array.from({ length: rows }, () => (r() < 0.3 ? 1 : 0)),
    alpha: new Int32Array(0), bias: new Float64Array(0), alphaFrac: 0, conv, pool,
  };
}

/** An XNOR segment ending in a threshold layer: conv (→ conv) (→ FC), channel counts and sizes odd where they may be. */
export function randomXnorSegment(r: () => number, numeric: NumericFormat): BinaryBundle {
  const layers: XnorLayer[] = [];
  const first: XnorLayer['input'] = r() < 0.5 ? 'fixed' : 'binary';
  let shape: ConvShape = { inChannels: randInt(r, 1, 3), inHeight: randInt(r, 4, 9), inWidth: randInt(r, 4, 9), kernel: randInt(r, 1, 3), padding: r() < 0.5 ? 'same' : 'valid' };
  const convs = randInt(r, 1, 2);
  for (let c = 0; c < convs; c++) {
    const out = randInt(r, 1, 5);
    const g = convGeometry(shape);
    if (g.outH < 1 || g.outW < 1) shape = { ...shape, padding: 'same' };
    const geo = convGeometry(shape);
    const pool = geo.outH >= 2 && geo.outW >= 2 && r() < 0.5 ? 2 : 1;
    const l = thresholdLayer(r, `conv${c}`, out, shape.inChannels * shape.kernel ** 2, c === 0 ? first : 'binary', numeric, shape, pool);
    layers.push(l);
    const oh = Math.floor(geo.outH / pool);
    const ow = Math.floor(geo.outW / pool);
    shape = { inChannels: out, inHeight: oh, inWidth: ow, kernel: Math.min(randInt(r, 1, 3), oh, ow), padding: r() < 0.5 ? 'same' : 'valid' };
  }
  if (r() < 0.5) layers.push(thresholdLayer(r, 'bfc', randInt(r, 3, 17), layerOutputs(layers[layers.length - 1]), 'binary', numeric));
  return { engine: 'xnor', numeric, layers, meta: { seed: 'random' } };
}

/** An EIE segment of 1 to 3 sparse FC layers taking `cols` inputs. */
export function randomEieSegment(r: () => number, cols: number, numeric: NumericFormat, sparse: SparseFormat): Bundle {
  const layers: EieLayer[] = [];
  const n = randInt(r, 1, 3);
  for (let l = 0; l < n; l++) {
    const rows = randInt(r, 1, 13);
    const bits = randInt(r, 1, sparse.vBits);
    const density = r();
    const codes = Uint8Array.from({ length: rows * cols }, () => (r() < density ? randInt(r, 1, 2 ** bits - 1) : 0));
    layers.push({
      kind: 'eie', name: `fc${l}`, rows, cols, bits,
      codebook: Int32Array.from({ length: 2 ** bits }, (_, i) => (i === 0 ? 0 : signed(r, Math.min(numeric.weightBits, 10)))),
      wFrac: randInt(r, 0, 10),
      bias: Float64Array.from({ length: rows }, () => signed(r, Math.min(numeric.accBits, 20))),
      relu: r() < 0.7,
      slices: toSlices(codes, rows, cols, sparse.pes, sparse.zBits),
    });
    cols = rows;
  }
  return { engine: 'eie', numeric, sparse, layers, meta: { seed: 'random' } };
}

/** XNOR → EIE, each segment with its own formats. */
export function randomHybrid(seed: number): Network {
  const r = rng(seed);
  const actBits = randInt(r, 4, 16);
  const xnum: NumericFormat = { actBits, actFrac: randInt(r, 0, actBits - 1), weightBits: 16, accBits: 32 };
  const eBits = randInt(r, 4, 16);
  const wBits = randInt(r, 4, 16);
  const enum_: NumericFormat = { actBits: eBits, actFrac: randInt(r, 0, eBits - 2), weightBits: wBits, accBits: randInt(r, eBits + wBits, 40) };
  const sparse: SparseFormat = { pes: randInt(r, 1, 5), vBits: randInt(r, 1, 4), zBits: randInt(r, 1, 4) };
  const x = randomXnorSegment(r, xnum);
  return { segments: [x, randomEieSegment(r, layerOutputs(x.layers[x.layers.length - 1]), enum_, sparse)] };
}

import { HwgenError } from '../errors.js';
import { CORRUPT, type ReadSection } from './container.js';
import { checkInt, checkLayerKind, concat, describe, expectLength, fields, int64Bytes, layerAt, need, payloadView, readInt64, signedMax, type MetaParts, type SegmentCodec } from './codec.js';
import { bwnAccRange, convGeometry, layerInputs, layerOutputs, rowBytes, scoreShift } from './layout.js';
import { checkMetaParts, validateShared } from './meta.js';
import { checkLayerNames } from './names.js';
import type { BinaryBundle, ConvShape, NumericFormat, XnorLayer } from './types.js';

/**
 * The XNOR units' segment (docs/bundle.md, "Binary bundles"): META's layer records, and per layer XWGT (the
 * weight bits), XTHR (thresholds and flips) or XSCL (α and bias of a scores layer).
 */

const LAYER_KEYS = ['kind', 'name', 'rows', 'cols', 'input', 'output', 'alphaFrac', 'pool', 'conv'];
const CONV_KEYS = ['inChannels', 'inHeight', 'inWidth', 'kernel', 'padding'];

function validateConv(c: ConvShape, cols: number, at: string): void {
  checkInt(c.inChannels, 1, 1 << 20, at, 'conv.inChannels');
  checkInt(c.inHeight, 1, 1 << 16, at, 'conv.inHeight');
  checkInt(c.inWidth, 1, 1 << 16, at, 'conv.inWidth');
  checkInt(c.kernel, 1, 64, at, 'conv.kernel');
  if (c.padding !== 'valid' && c.padding !== 'same') throw new HwgenError(`${at}: conv.padding is ${describe(c.padding)}; it must be "valid" or "same"`);
  if (c.inChannels * c.kernel * c.kernel !== cols) {
    throw new HwgenError(`${at}: cols = ${cols}, but a ${c.kernel}x${c.kernel} kernel over ${c.inChannels} channels has ${c.inChannels * c.kernel * c.kernel} inputs`);
  }
  const g = convGeometry(c);
  if (g.outH < 1 || g.outW < 1) throw new HwgenError(`${at}: a ${c.kernel}x${c.kernel} 'valid' convolution does not fit the ${c.inHeight}x${c.inWidth} input`);
}

/** The small facts of an XNOR layer (what META carries). */
function validateHead(l: XnorLayer, at: string): void {
  if (typeof l.name !== 'string') throw new HwgenError(`${at}: name is ${describe(l.name)}; it must be a string`);
  checkInt(l.rows, 1, 1 << 24, at, 'rows');
  checkInt(l.cols, 1, 1 << 24, at, 'cols');
  if (l.input !== 'binary' && l.input !== 'fixed') throw new HwgenError(`${at}: input is ${describe(l.input)}; it must be "binary" or "fixed"`);
  if (l.output !== 'threshold' && l.output !== 'scores') throw new HwgenError(`${at}: output is ${describe(l.output)}; it must be "threshold" or "scores"`);
  checkInt(l.alphaFrac, 0, 31, at, 'alphaFrac');
  checkInt(l.pool, 1, 64, at, 'pool');
  if (l.conv !== undefined) validateConv(l.conv, l.cols, at);
  if (l.pool > 1 && (!l.conv || l.output !== 'threshold')) throw new HwgenError(`${at}: pool = ${l.pool}; max-pooling follows a convolution with a threshold output only`);
  if (l.conv && l.pool > 1) {
    const g = convGeometry(l.conv);
    if (g.outH < l.pool || g.outW < l.pool) throw new HwgenError(`${at}: a ${l.pool}x${l.pool} pool does not fit the ${g.outH}x${g.outW} output`);
  }
}

function validateLayer(l: XnorLayer, numeric: NumericFormat, at: string): void {
  validateHead(l, at);
  const rb = rowBytes(l.cols);
  if (l.weights.length !== l.rows * rb) throw new HwgenError(`${at}: ${l.weights.length} weight bytes; rows = ${l.rows} × ${rb} bytes per row needs ${l.rows * rb}`);
  if (l.cols % 8) {
    const pad = 0xff << (l.cols % 8) & 0xff;
    for (let i = 0; i < l.rows; i++) {
      if (l.weights[i * rb + rb - 1] & pad) throw new HwgenError(`${at}: row ${i} has padding bits set after bit ${l.cols - 1}; they must be 0`);
    }
  }
  if (l.output === 'threshold') {
    if (l.threshold.length !== l.rows || l.flip.length !== l.rows) {
      throw new HwgenError(`${at}: ${l.threshold.length} thresholds and ${l.flip.length} flips; rows = ${l.rows} needs ${l.rows} of each`);
    }
    if (l.alpha.length || l.bias.length || l.alphaFrac !== 0) throw new HwgenError(`${at}: a threshold layer carries no alpha, bias or alphaFrac`);
    const { min, max } = l.input === 'binary' ? { min: 0, max: l.cols } : bwnAccRange(l.cols, numeric.actBits);
    for (let i = 0; i < l.rows; i++) {
      checkInt(l.threshold[i], min, max + 1, at, `threshold[${i}]`);
      checkInt(l.flip[i], 0, 1, at, `flip[${i}]`);
    }
  } else {
    if (l.alpha.length !== l.rows || l.bias.length !== l.rows) {
      throw new HwgenError(`${at}: ${l.alpha.length} alphas and ${l.bias.length} biases; rows = ${l.rows} needs ${l.rows} of each`);
    }
    if (l.threshold.length || l.flip.length) throw new HwgenError(`${at}: a scores layer carries no thresholds`);
    const am = signedMax(numeric.weightBits);
    const bm = signedMax(numeric.accBits);
    for (let i = 0; i < l.rows; i++) {
      checkInt(l.alpha[i], -am - 1, am, at, `alpha[${i}] (signed weightBits = ${numeric.weightBits})`);
      checkInt(l.bias[i], -bm - 1, bm, at, `bias[${i}] (signed accBits = ${numeric.accBits})`);
    }
    if (scoreShift(l, numeric) < 0) throw new HwgenError(`${at}: alphaFrac = ${l.alphaFrac} leaves the scores fewer fractional bits than actFrac = ${numeric.actFrac}`);
  }
}

function validateChain(layers: XnorLayer[], where: string): void {
  checkLayerNames(layers.map((l) => l.name), where, CORRUPT);
  layers.forEach((l, i) => {
    const at = layerAt(where, i, l.name);
    if (i > 0 && l.input !== 'binary') throw new HwgenError(`${at}: only the first layer may take fixed-point input (BWN); later layers take the bits of the one before`);
    if (i + 1 < layers.length && l.output !== 'threshold') throw new HwgenError(`${at}: only the last layer may output scores; hidden layers output bits`);
    if (i + 1 < layers.length && layerOutputs(l) !== layerInputs(layers[i + 1])) {
      throw new HwgenError(
        `${where}: layer ${i} '${l.name}' gives ${layerOutputs(l)} outputs but layer ${i + 1} '${layers[i + 1].name}' takes ${layerInputs(layers[i + 1])} inputs; consecutive layers must chain`,
      );
    }
  });
}

function validate(b: BinaryBundle, where: string): void {
  validateShared(b, where);
  b.layers.forEach((l, i) => {
    const at = layerAt(where, i, l.name);
    if (l.kind !== 'xnor') throw new HwgenError(`${at}: a ${describe(l.kind)} layer in a binary bundle; a bundle holds one engine's layers`);
    validateLayer(l, b.numeric, at);
  });
  validateChain(b.layers, where);
}

function encode(b: BinaryBundle, _where: string): ReturnType<SegmentCodec['encode']> {
  const layers = b.layers.map((l) => ({
    kind: l.kind, name: l.name, rows: l.rows, cols: l.cols, input: l.input, output: l.output, alphaFrac: l.alphaFrac, pool: l.pool,
    conv: l.conv ? { inChannels: l.conv.inChannels, inHeight: l.conv.inHeight, inWidth: l.conv.inWidth, kernel: l.conv.kernel, padding: l.conv.padding } : null,
  }));
  const sections = b.layers.flatMap((l, i) => {
    const w = { tag: 'XWGT', index: i, payload: l.weights };
    if (l.output === 'threshold') {
      const flips = new Uint8Array(Math.ceil(l.rows / 8));
      l.flip.forEach((f, r) => (flips[r >> 3] |= f << (r & 7)));
      return [w, { tag: 'XTHR', index: i, payload: concat([int64Bytes(l.threshold), flips]) }];
    }
    const a = new Uint8Array(l.rows * 4);
    const dv = new DataView(a.buffer);
    l.alpha.forEach((x, r) => dv.setInt32(r * 4, x, true));
    return [w, { tag: 'XSCL', index: i, payload: concat([a, int64Bytes(l.bias)]) }];
  });
  return { formats: {}, layers, sections };
}

function decode(parts: MetaParts, take: (tag: string, l: number) => ReadSection | undefined, where: string): BinaryBundle {
  const { at, numeric } = parts;
  for (const x of Object.values(numeric)) if (typeof x !== 'number') throw new HwgenError(`${at}: a format field is ${describe(x)}; ${CORRUPT}`);
  checkMetaParts(parts);
  const layers = parts.layers.map((x: unknown, i: number): XnorLayer => {
    const lat = `${at} layer ${i}`;
    checkLayerKind(x, parts.kinds, 'xnor', 'a bundle without a sparse format', lat);
    const rec = fields(x, LAYER_KEYS, lat);
    const conv = rec.conv === null ? undefined : (fields(rec.conv, CONV_KEYS, `${lat} conv`) as unknown as ConvShape);
    const head: XnorLayer = {
      kind: 'xnor', name: rec.name as string, rows: rec.rows as number, cols: rec.cols as number,
      input: rec.input as XnorLayer['input'], output: rec.output as XnorLayer['output'],
      weights: new Uint8Array(0), threshold: new Float64Array(0), flip: new Uint8Array(0), alpha: new Int32Array(0), bias: new Float64Array(0),
      alphaFrac: rec.alphaFrac as number, conv, pool: rec.pool as number,
    };
    const named = layerAt(where, i, head.name);
    validateHead(head, named);
    const w = need(take, 'XWGT', i, named);
    expectLength(w, head.rows * rowBytes(head.cols), `rows = ${head.rows} × ${rowBytes(head.cols)} bytes`, named);
    head.weights = new Uint8Array(w.payload);
    if (head.output === 'threshold') {
      const t = need(take, 'XTHR', i, named);
      expectLength(t, head.rows * 8 + Math.ceil(head.rows / 8), `rows = ${head.rows} × int64 + flip bits`, named);
      const dv = payloadView(t);
      head.threshold = Float64Array.from({ length: head.rows }, (_, r) => readInt64(dv, r * 8));
      head.flip = Uint8Array.from({ length: head.rows }, (_, r) => (t.payload[head.rows * 8 + (r >> 3)] >> (r & 7)) & 1);
      if (head.rows % 8 && t.payload[t.payload.length - 1] >> head.rows % 8) {
        throw new HwgenError(`${named}: XTHR flip bits past row ${head.rows - 1} are set; ${CORRUPT}`);
      }
    } else {
      const s = need(take, 'XSCL', i, named);
      expectLength(s, head.rows * 12, `rows = ${head.rows} × (int32 + int64)`, named);
      const dv = payloadView(s);
      head.alpha = Int32Array.from({ length: head.rows }, (_, r) => dv.getInt32(r * 4, true));
      head.bias = Float64Array.from({ length: head.rows }, (_, r) => readInt64(dv, head.rows * 4 + r * 8));
    }
    validateLayer(head, numeric, named);
    return head;
  });
  validateChain(layers, where);
  return { engine: 'xnor', numeric, layers, meta: parts.meta };
}

export const xnorCodec: SegmentCodec<BinaryBundle> = {
  engine: 'xnor',
  tags: ['XWGT', 'XTHR', 'XSCL'],
  formatKeys: [],
  validate,
  encode,
  decode,
  inputs: (b) => layerInputs(b.layers[0]),
  outputs: (b) => layerOutputs(b.layers[b.layers.length - 1]),
};

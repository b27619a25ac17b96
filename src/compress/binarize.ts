import { HwgenError } from '../errors.js';
import { codebookFrac, saturate } from '../model/fixed.js';
import { bwnAccRange, convGeometry, packBits, rowBytes } from '../model/layout.js';
import type { BatchNorm, BinaryBundle, FloatLayer, FloatModel, NumericFormat, XnorLayer } from '../model/types.js';

/**
 * XNOR-Net compression (Rastegari et al. 2016) in the form FINN's matrix-vector-threshold unit runs
 * (Umuroglu et al. 2017); docs/xnor.md gives the formats. Per output channel i:
 *   weights: b_ik = sign(W_ik) (bit 1 for W >= 0), α_i = mean_k |W_ik|;
 *   pre-activation: a_i = α_i · dot_i + bias_i, dot_i = Σ_k b_ik x_k (x = ±1, or real for a BWN layer);
 *   hidden layers: bit_i = sign(BN(a_i)) >= 0, folded into bit_i = (acc_i >= T_i) XOR flip_i on the integer
 *   accumulator (popcount, or the BWN sum), flip_i = 1 where γ_i < 0;
 *   the last layer keeps α: score_i = BN(a_i) as fixed point.
 */

export interface BinarizeOptions {
  numeric: NumericFormat;
  /** Input of the first layer: 'fixed' (BWN: binary weights, fixed-point activations) or 'binary'. */
  firstInput?: 'fixed' | 'binary';
  /** Output of the last layer: 'scores' (α kept, fixed point) or 'threshold' (bits). */
  lastOutput?: 'scores' | 'threshold';
}

/** sign(y) as a bit: y >= 0 gives 1 (+1), so sign(0) = +1. */
function signBit(y: number): number {
  return y >= 0 ? 1 : 0;
}

/** Batch-norm of channel i in float64, as frameworks apply it: γ · (x − μ) / sqrt(σ² + ε) + β. */
export function batchNorm(bn: BatchNorm | undefined, i: number, x: number): number {
  if (!bn) return x;
  return (bn.gamma[i] * (x - bn.mean[i])) / Math.sqrt(bn.variance[i] + bn.eps) + bn.beta[i];
}

/**
 * The float reference the folded threshold reproduces: the bit of output i for accumulator value `acc`, computed
 * as α·dot + bias, then batch-norm, then sign, in float64.
 */
export function referenceBit(
  p: { alpha: number; bias: number; bn?: BatchNorm; input: 'binary' | 'fixed'; cols: number; actFrac: number },
  i: number,
  acc: number,
): number {
  const dot = p.input === 'binary' ? 2 * acc - p.cols : acc / 2 ** p.actFrac;
  return signBit(batchNorm(p.bn, i, p.alpha * dot + p.bias));
}

/**
 * The integer threshold of one output. The float reference is monotone in acc (every step is a monotone
 * rounding), non-decreasing when γ·α > 0 and non-increasing when γ·α < 0, so its 1s form the interval
 * [T, max] or [min, F]; a binary search on the reference itself finds the end, so ties settle exactly as float
 * settles them. Closed form (γ > 0, binary input): T = ceil((K + (μ − bias − β·s/γ) / α) / 2), s = sqrt(σ² + ε).
 */
export function foldThreshold(bit: (acc: number) => number, dir: number, min: number, max: number): { threshold: number; flip: number } {
  if (dir === 0) return { threshold: bit(min) ? min : max + 1, flip: 0 };
  if (dir > 0) {
    if (!bit(max)) return { threshold: max + 1, flip: 0 };
    let lo = min; // invariant: the answer lies in [lo, hi]
    let hi = max;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (bit(mid)) hi = mid;
      else lo = mid + 1;
    }
    return { threshold: lo, flip: 0 };
  }
  // Non-increasing: find the largest acc giving 1; bit = acc <= F = NOT(acc >= F + 1).
  if (!bit(min)) return { threshold: min, flip: 1 };
  let lo = min;
  let hi = max;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (bit(mid)) lo = mid;
    else hi = mid - 1;
  }
  return { threshold: lo + 1, flip: 1 };
}

/** Weight columns in the hardware's order: (ky, kx, c) with c fastest for a conv, or a permutation for an FC. */
function orderedRow(fl: FloatLayer, i: number, colOrder?: Int32Array): Float64Array {
  const row = new Float64Array(fl.cols);
  if (fl.conv) {
    const { inChannels: c, kernel: k } = fl.conv;
    // float [out, c, ky, kx] -> k index (ky·k + kx)·C + ch
    for (let ch = 0; ch < c; ch++) {
      for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) row[(ky * k + kx) * c + ch] = fl.weight[i * fl.cols + (ch * k + ky) * k + kx];
    }
  } else if (colOrder) {
    for (let k = 0; k < fl.cols; k++) row[k] = fl.weight[i * fl.cols + colOrder[k]];
  } else {
    for (let k = 0; k < fl.cols; k++) row[k] = fl.weight[i * fl.cols + k];
  }
  return row;
}

export interface LayerRole {
  input: 'binary' | 'fixed';
  output: 'threshold' | 'scores';
  /** For an FC after a conv: column k of the hardware order reads float column colOrder[k]. */
  colOrder?: Int32Array;
}

export function binarizeLayer(fl: FloatLayer, role: LayerRole, numeric: NumericFormat, where: string): XnorLayer {
  const at = `${where}: layer '${fl.name}'`;
  const pool = fl.pool ?? 1;
  if (pool > 1 && (!fl.conv || role.output !== 'threshold')) {
    throw new HwgenError(`${at}: max-pooling is supported after a binary convolution with a threshold output only`);
  }
  if (fl.conv) {
    const c = fl.conv;
    if (c.inChannels * c.kernel * c.kernel !== fl.cols) {
      throw new HwgenError(`${at}: a ${c.kernel}x${c.kernel} kernel over ${c.inChannels} channels has ${c.inChannels * c.kernel * c.kernel} inputs, the weight has ${fl.cols}`);
    }
    const g = convGeometry(c);
    if (g.outH < 1 || g.outW < 1) throw new HwgenError(`${at}: a ${c.kernel}x${c.kernel} 'valid' convolution does not fit a ${c.inHeight}x${c.inWidth} input`);
  }
  const bn = fl.bn;
  if (bn) {
    for (let i = 0; i < fl.rows; i++) {
      if (!(bn.variance[i] + bn.eps > 0)) throw new HwgenError(`${at}: batch-norm channel ${i} has variance + eps = ${bn.variance[i] + bn.eps}; it must be positive`);
    }
  }
  const rb = rowBytes(fl.cols);
  const weights = new Uint8Array(fl.rows * rb);
  const alphaF = new Float64Array(fl.rows);
  for (let i = 0; i < fl.rows; i++) {
    const row = orderedRow(fl, i, role.colOrder);
    let s = 0;
    for (let k = 0; k < fl.cols; k++) s += Math.abs(row[k]);
    alphaF[i] = s / fl.cols;
    weights.set(packBits(Array.from(row, (w) => (w >= 0 ? 1 : 0))), i * rb);
  }
  const biasF = (i: number) => (fl.bias ? fl.bias[i] : 0);
  const base: XnorLayer = {
    kind: 'xnor', name: fl.name, rows: fl.rows, cols: fl.cols, input: role.input, output: role.output, weights,
    threshold: new Float64Array(0), flip: new Uint8Array(0), alpha: new Int32Array(0), bias: new Float64Array(0),
    alphaFrac: 0, conv: fl.conv ? { ...fl.conv } : undefined, pool,
  };
  if (role.output === 'threshold') {
    const { min, max } = role.input === 'binary' ? { min: 0, max: fl.cols } : bwnAccRange(fl.cols, numeric.actBits);
    base.threshold = new Float64Array(fl.rows);
    base.flip = new Uint8Array(fl.rows);
    for (let i = 0; i < fl.rows; i++) {
      const ref = { alpha: alphaF[i], bias: biasF(i), bn, input: role.input, cols: fl.cols, actFrac: numeric.actFrac };
      const dir = Math.sign(alphaF[i]) * (bn ? Math.sign(bn.gamma[i]) : 1);
      const t = foldThreshold((acc) => referenceBit(ref, i, acc), dir, min, max);
      base.threshold[i] = t.threshold;
      base.flip[i] = t.flip;
    }
    return base;
  }
  // scores: BN(α·dot + bias) = scale·dot + offset
  const scale = new Float64Array(fl.rows);
  const offset = new Float64Array(fl.rows);
  for (let i = 0; i < fl.rows; i++) {
    scale[i] = bn ? (bn.gamma[i] * alphaF[i]) / Math.sqrt(bn.variance[i] + bn.eps) : alphaF[i];
    offset[i] = batchNorm(bn, i, biasF(i));
  }
  const fIn = role.input === 'fixed' ? numeric.actFrac : 0;
  const maxAbs = scale.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const fA = Math.max(codebookFrac(maxAbs, numeric), numeric.actFrac - fIn);
  const aMax = 2 ** (numeric.weightBits - 1) - 1;
  if (Math.round(maxAbs * 2 ** fA) > aMax) {
    throw new HwgenError(`${at}: the scale α = ${maxAbs.toPrecision(4)} does not fit weightBits = ${numeric.weightBits} with ${fA} fractional bits; raise --weight-bits`);
  }
  base.alphaFrac = fA;
  base.alpha = Int32Array.from(scale, (x) => Math.round(x * 2 ** fA));
  base.bias = Float64Array.from(offset, (x) => saturate(Math.round(x * 2 ** (fA + fIn)), numeric.accBits));
  return base;
}

/** A convolution's output feature map: channels, height, width (after pooling). */
export interface FeatureMap {
  c: number;
  h: number;
  w: number;
}

/** The map a layer gives, or undefined for a fully-connected layer (whose outputs need no reordering). */
export function outputMap(l: XnorLayer): FeatureMap | undefined {
  if (!l.conv) return undefined;
  const g = convGeometry(l.conv);
  return { c: l.rows, h: Math.floor(g.outH / l.pool), w: Math.floor(g.outW / l.pool) };
}

/**
 * Frameworks flatten a feature map channel-first (c, y, x); the hardware keeps it channel-fastest (y, x, c).
 * Element k of the map's order is element order[k] of the framework's; undefined where the two agree (1x1 maps).
 */
export function flattenOrder({ c, h, w }: FeatureMap): Int32Array | undefined {
  if (h * w === 1) return undefined;
  const order = new Int32Array(c * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) order[(y * w + x) * c + ch] = (ch * h + y) * w + x;
  return order;
}

/** Every layer of a model to XNOR form: the first BWN (or binary), the hidden ones thresholded, the last scores. */
export function binarizeModel(model: FloatModel, opts: BinarizeOptions): BinaryBundle {
  const n = model.layers.length;
  if (n === 0) throw new HwgenError(`${model.source}: no layers to binarize`);
  const layers: XnorLayer[] = [];
  let prevMap: FeatureMap | undefined;
  model.layers.forEach((fl, l) => {
    const role: LayerRole = {
      input: l === 0 ? (opts.firstInput ?? 'fixed') : 'binary',
      output: l === n - 1 ? (opts.lastOutput ?? 'scores') : 'threshold',
    };
    if (!fl.conv && prevMap) role.colOrder = flattenOrder(prevMap);
    const xl = binarizeLayer(fl, role, opts.numeric, model.source);
    layers.push(xl);
    prevMap = outputMap(xl);
  });
  return { engine: 'xnor', numeric: { ...opts.numeric }, layers, meta: {} };
}

/** What `hwgen compress --binary` and `hwgen inspect` print for a binary bundle. */
export interface BinaryLayerReport {
  name: string;
  rows: number;
  cols: number;
  input: 'binary' | 'fixed';
  output: 'threshold' | 'scores';
  conv: string | null;
  /** Packed weight bits plus thresholds (or α and bias) as stored, in bytes. */
  bytes: number;
  /** float32 weights, in bytes. */
  denseBytes: number;
  ratio: number;
  /** Outputs whose threshold flips the comparison (batch-norm γ < 0). */
  flipped: number;
  /** Outputs that are always on or never on. */
  constant: number;
}

export function binaryReport(b: BinaryBundle): { layers: BinaryLayerReport[]; total: { bytes: number; denseBytes: number; ratio: number } } {
  const layers = b.layers.map((l): BinaryLayerReport => {
    const paramBytes = l.output === 'threshold' ? l.rows * 8 + Math.ceil(l.rows / 8) : l.rows * 12;
    const bytes = l.weights.length + paramBytes;
    const denseBytes = l.rows * l.cols * 4;
    const { min, max } = l.input === 'binary' ? { min: 0, max: l.cols } : bwnAccRange(l.cols, b.numeric.actBits);
    return {
      name: l.name, rows: l.rows, cols: l.cols, input: l.input, output: l.output,
      conv: l.conv ? `${l.conv.kernel}x${l.conv.kernel} ${l.conv.padding} on ${l.conv.inChannels}x${l.conv.inHeight}x${l.conv.inWidth}${l.pool > 1 ? `, pool ${l.pool}` : ''}` : null,
      bytes, denseBytes, ratio: denseBytes / bytes,
      flipped: l.flip.reduce((s, f) => s + f, 0),
      constant: Array.from(l.threshold).filter((t) => t <= min || t > max).length,
    };
  });
  const bytes = layers.reduce((s, l) => s + l.bytes, 0);
  const denseBytes = layers.reduce((s, l) => s + l.denseBytes, 0);
  return { layers, total: { bytes, denseBytes, ratio: denseBytes / bytes } };
}

export function formatBinaryReport(r: ReturnType<typeof binaryReport>): string {
  const head = ['layer', 'shape', 'in', 'out', 'conv', 'float32', 'binary', 'ratio', 'γ<0', 'const'];
  const kb = (x: number) => `${(x / 1024).toFixed(1)}K`;
  const rows = r.layers.map((l) => [
    l.name, `${l.rows}x${l.cols}`, l.input === 'fixed' ? 'BWN' : 'bits', l.output === 'scores' ? 'scores' : 'bits', l.conv ?? '-',
    kb(l.denseBytes), kb(l.bytes), `${l.ratio.toFixed(1)}x`, String(l.flipped), String(l.constant),
  ]);
  rows.push(['total', '', '', '', '', kb(r.total.denseBytes), kb(r.total.bytes), `${r.total.ratio.toFixed(1)}x`, '', '']);
  const all = [head, ...rows];
  const width = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(width[c]) : cell.padStart(width[c]))).join('  ');
  return [`${r.layers.length} binary layer(s) (XNOR units)`, ...all.map(line)].join('\n');
}

import { HwgenError } from '../errors.js';
import { codebookFrac, saturate, toFixed } from '../model/fixed.js';
import type { Bundle, EieLayer, FloatLayer, FloatModel, NumericFormat, SparseFormat } from '../model/types.js';
import { encodeCsc } from './csc.js';
import { assignNearest, kmeans1d } from './kmeans.js';
import { pruneByQuality, pruneToDensity } from './prune.js';

/** Per-layer value of a pruning parameter: one number for every layer, or one per layer name. */
export type PerLayer = number | Record<string, number>;

export interface CompressOptions {
  /** Fraction of weights kept (0, 1]; exclusive with quality. */
  density?: PerLayer;
  /** Han's rule: prune |w| <= quality × std(W). */
  quality?: PerLayer;
  /** Codebook index bits B (2^B - 1 centroids plus zero). */
  bits: number;
  sparse: SparseFormat;
  numeric: NumericFormat;
  /** Lloyd iterations at most. */
  maxIter?: number;
}

/**
 * What compressing one layer decided, kept for reports and tests. A layer may come out empty (every weight
 * pruned, or every shared weight 0 in fixed point): the engines handle it, and `emptyLayer` says why.
 */
export interface LayerDetail {
  /** Row-major positions kept by pruning. */
  kept: Uint32Array;
  /** Codebook index (1..2^B-1) of each kept weight. */
  codes: Uint8Array;
  /** k-means centroids before rounding to fixed point. */
  centroids: Float64Array;
  iterations: number;
  /** Mean squared error of the shared weights against the pruned float weights. */
  weightMse: number;
  /** Milliseconds spent in each step, for reports and bench/compress. */
  ms: { prune: number; kmeans: number; share: number; encode: number };
}

export function compressModel(model: FloatModel, opts: CompressOptions): { bundle: Bundle; details: LayerDetail[] } {
  const names = model.layers.map((l) => l.name);
  for (const [what, p] of [['density', opts.density], ['quality', opts.quality]] as const) {
    const unknown = typeof p === 'object' ? Object.keys(p).filter((k) => !names.includes(k)) : [];
    if (unknown.length) throw new HwgenError(`--${what}: no layer named '${unknown[0]}'; the layers are ${names.join(', ')}`, 2);
  }
  const layers: EieLayer[] = [];
  const details: LayerDetail[] = [];
  for (const fl of model.layers) {
    const { layer, detail } = compressLayer(fl, opts);
    layers.push(layer);
    details.push(detail);
  }
  return {
    bundle: { engine: 'eie', numeric: { ...opts.numeric }, sparse: { ...opts.sparse }, layers, meta: {} },
    details,
  };
}

export function compressLayer(fl: FloatLayer, opts: CompressOptions): { layer: EieLayer; detail: LayerDetail } {
  const lap = stopwatch();
  const kept = prune(fl, opts);
  const pruneMs = lap();
  const values = new Float32Array(kept.length);
  for (let n = 0; n < kept.length; n++) values[n] = fl.weight[kept[n]];

  const k = 2 ** opts.bits - 1;
  const { centroids, iterations } = kmeans1d(values, k, opts.maxIter ?? 100);
  const kmeansMs = lap();
  const { codebook, wFrac } = fixedCodebook(fl.name, centroids, opts.numeric);
  const levels = Array.from(codebook.subarray(1), (q) => q / 2 ** wFrac);
  const nearest = assignNearest(values, levels);
  const codes = nearest.map((c) => c + 1);
  let se = 0;
  for (let n = 0; n < values.length; n++) se += (values[n] - levels[nearest[n]]) ** 2;
  const shareMs = lap();

  const layer: EieLayer = {
    kind: 'eie',
    name: fl.name,
    rows: fl.rows,
    cols: fl.cols,
    bits: opts.bits,
    codebook,
    wFrac,
    bias: quantizeBias(fl, opts.numeric, wFrac),
    relu: fl.relu,
    slices: encodeCsc(fl.rows, fl.cols, kept, codes, opts.sparse.pes, opts.sparse.zBits),
  };
  const ms = { prune: pruneMs, kmeans: kmeansMs, share: shareMs, encode: lap() };
  return {
    layer,
    detail: { kept, codes, centroids, iterations, weightMse: values.length ? se / values.length : 0, ms },
  };
}

/** Returns a function giving the milliseconds since the previous call. */
function stopwatch(): () => number {
  let t = performance.now();
  return () => {
    const now = performance.now();
    const d = now - t;
    t = now;
    return d;
  };
}

function prune(fl: FloatLayer, opts: CompressOptions): Uint32Array {
  if (opts.quality !== undefined) return pruneByQuality(fl.weight, pick(opts.quality, fl.name, 'quality'));
  return pruneToDensity(fl.weight, opts.density === undefined ? 1 : pick(opts.density, fl.name, 'density'));
}

export function pick(p: PerLayer, name: string, what: string): number {
  if (typeof p === 'number') return p;
  if (!(name in p)) {
    throw new HwgenError(`--${what}: no value for layer '${name}' (given for: ${Object.keys(p).join(', ')}); give one per layer`);
  }
  return p[name];
}

/** Rounds ascending centroids to weightBits signed fixed point (fractional bits from codebookFrac). */
function fixedCodebook(name: string, centroids: Float64Array, numeric: NumericFormat): { codebook: Int32Array; wFrac: number } {
  let maxAbs = 0;
  for (const c of centroids) maxAbs = Math.max(maxAbs, Math.abs(c));
  const wFrac = codebookFrac(maxAbs, numeric);
  if (wFrac < 0) {
    throw new HwgenError(
      `layer '${name}': a shared weight of magnitude ${maxAbs} does not fit ${numeric.weightBits}-bit fixed point; ` +
        `rescale the layer or raise --weight-bits`,
    );
  }
  const codebook = new Int32Array(centroids.length + 1);
  centroids.forEach((c, i) => (codebook[i + 1] = toFixed(c, wFrac, numeric.weightBits)));
  return { codebook, wFrac };
}

/** Bias in the accumulator's format: actFrac + wFrac fractional bits, saturated to accBits. */
function quantizeBias(fl: FloatLayer, numeric: NumericFormat, wFrac: number): Float64Array {
  const out = new Float64Array(fl.rows);
  if (!fl.bias) return out;
  for (let i = 0; i < fl.rows; i++) {
    const q = Math.round(fl.bias[i] * 2 ** (numeric.actFrac + wFrac));
    if (saturate(q, numeric.accBits) !== q) {
      const frac = numeric.actFrac + wFrac;
      throw new HwgenError(
        `layer '${fl.name}': bias[${i}] = ${fl.bias[i]} does not fit the ${numeric.accBits}-bit accumulator with ${frac} fractional bits ` +
          `(|bias| < ${2 ** (numeric.accBits - 1 - frac)}); rescale the layer, raise --acc-bits or lower --act-frac`,
      );
    }
    out[i] = q + 0; // + 0: no -0
  }
  return out;
}

/**
 * Why a compressed layer computes only its bias although its float weights were not all zero (undefined when it
 * does not): the CLI refuses such a layer, since its report would still show the weights as kept.
 */
export function emptyLayer(fl: FloatLayer, layer: EieLayer, detail: LayerDetail, opts: CompressOptions): string | undefined {
  if (!fl.weight.some((w) => w !== 0)) return undefined;
  if (detail.kept.length === 0) {
    const setting = opts.quality !== undefined ? `--quality ${pick(opts.quality, fl.name, 'quality')}` : `--density ${opts.density === undefined ? 1 : pick(opts.density, fl.name, 'density')}`;
    return `${setting} prunes every weight, leaving only the bias; keep more weights`;
  }
  if (layer.codebook.every((q) => q === 0)) {
    const largest = detail.centroids.reduce((m, c) => Math.max(m, Math.abs(c)), 0);
    return (
      `every shared weight rounds to 0 in fixed point (largest |centroid| ${largest.toPrecision(3)}, ${layer.wFrac} fractional bits): ` +
      `the layer would compute only its bias; scale its weights up, or raise --acc-bits to allow more fractional bits`
    );
  }
  return undefined;
}

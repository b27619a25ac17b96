import { HwgenError } from '../errors.js';
import { saturate } from '../model/fixed.js';
import { decodeDenseCodes } from '../model/layout.js';
import type { BinaryBundle, Bundle, EieLayer, FloatLayer, FloatModel, Network, NumericFormat } from '../model/types.js';
import { binarizeModel, flattenOrder, outputMap, type BinarizeOptions } from './binarize.js';
import { compressLayer, type CompressOptions, type LayerDetail } from './compress.js';

/**
 * A hybrid network (DESIGN.md, "Networks of segments"): the layers named for the XNOR units are binarized,
 * the rest go down the Deep Compression path for the EIE engine, and the boundary between them is folded into
 * the first EIE layer at compress time (docs/numbers.md, "Between segments").
 */
export interface HybridOptions {
  /** The binary segment's formats and first-layer kind; it ends with a threshold layer, whose bits the EIE engine takes. */
  binary: Omit<BinarizeOptions, 'lastOutput'>;
  sparse: CompressOptions;
}

export interface HybridResult {
  network: Network;
  /** The EIE segment's float layers as compressed: the first one's columns in the map's order (channel fastest). */
  sparseModel: FloatModel;
  /** Per EIE layer, what compression decided (the first layer's before the fold). */
  details: LayerDetail[];
}

/**
 * Splits a model into its binary layers (named in `binaryNames`) and its sparse ones, and refuses what the two
 * engines cannot run: a name that is no layer, a sparse layer before a binary one, a convolution or batch-norm
 * left for the EIE engine, per-layer pruning given for a binary layer.
 */
export function splitHybrid(model: FloatModel, binaryNames: readonly string[], opts: Pick<CompressOptions, 'density' | 'quality'>): { binary: FloatLayer[]; sparse: FloatLayer[] } {
  const names = model.layers.map((l) => l.name);
  const wanted = new Set(binaryNames);
  for (const n of wanted) {
    if (!names.includes(n)) throw new HwgenError(`--binary ${binaryNames.join(',')}: no layer named '${n}'; the layers of ${model.source} are ${names.join(', ')}`, 2);
  }
  const firstSparse = model.layers.findIndex((l) => !wanted.has(l.name));
  const late = model.layers.findIndex((l, i) => i > firstSparse && wanted.has(l.name));
  if (firstSparse >= 0 && late >= 0) {
    throw new HwgenError(
      `${model.source}: layer '${names[late]}' is binary (--binary) but comes after layer '${names[firstSparse]}', which goes to the EIE engine; ` +
        `binary layers come first (the XNOR units feed the EIE engine): name every layer up to '${names[late]}' in --binary, or leave '${names[late]}' out`,
      2,
    );
  }
  const binary = model.layers.filter((l) => wanted.has(l.name));
  const sparse = model.layers.filter((l) => !wanted.has(l.name));
  for (const l of sparse) {
    if (l.conv) throw new HwgenError(`${model.source}: layer '${l.name}' is a convolution, which only the XNOR units run; name it in --binary`, 2);
    if (l.bn) throw new HwgenError(`${model.source}: layer '${l.name}' has batch-norm, which only binary layers fold (into thresholds); name it in --binary, or fold it into the weights first`, 2);
  }
  for (const [what, p] of [['density', opts.density], ['quality', opts.quality]] as const) {
    const given = typeof p === 'object' ? Object.keys(p) : [];
    const bin = given.find((k) => wanted.has(k));
    if (bin !== undefined) throw new HwgenError(`--${what}: layer '${bin}' is binary (--binary), which keeps every weight as its sign; give --${what} for the EIE layers only (${sparse.map((l) => l.name).join(', ')})`, 2);
    const unknown = given.find((k) => !names.includes(k));
    if (unknown !== undefined) throw new HwgenError(`--${what}: no layer named '${unknown}'; the layers are ${names.join(', ')}`, 2);
  }
  return { binary, sparse };
}

/** The binary layers for the XNOR units, the sparse ones for the EIE engine, the ±1 of the boundary folded in. */
export function compressHybrid(model: FloatModel, binaryNames: readonly string[], opts: HybridOptions): HybridResult {
  const { binary, sparse } = splitHybrid(model, binaryNames, opts.sparse);
  if (binary.length === 0 || sparse.length === 0) {
    throw new HwgenError(`--binary ${binaryNames.join(',')}: a hybrid network needs binary layers and EIE layers; name some but not all of ${model.layers.map((l) => l.name).join(', ')} (--binary alone makes every layer binary)`, 2);
  }
  const xnor: BinaryBundle = binarizeModel({ source: model.source, layers: binary }, { ...opts.binary, lastOutput: 'threshold' });
  // The framework flattens the last map (c, y, x); the bits arrive in the map's order (y, x, c).
  const map = outputMap(xnor.layers[xnor.layers.length - 1]);
  const order = map && flattenOrder(map);
  const first = order ? permuteColumns(sparse[0], order) : sparse[0];
  const sparseModel: FloatModel = { source: model.source, layers: [first, ...sparse.slice(1)] };
  const { numeric } = opts.sparse;
  // One bit of headroom in the first layer's codebook: the fold doubles it.
  const headroom: CompressOptions = { ...opts.sparse, numeric: { ...numeric, weightBits: numeric.weightBits - 1 } };
  const layers: EieLayer[] = [];
  const details: LayerDetail[] = [];
  sparseModel.layers.forEach((fl, l) => {
    const { layer, detail } = compressLayer(fl, l === 0 ? headroom : opts.sparse);
    layers.push(l === 0 ? foldBitInput(layer, numeric) : layer);
    details.push(detail);
  });
  const eie: Bundle = { engine: 'eie', numeric: { ...numeric }, sparse: { ...opts.sparse.sparse }, layers, meta: {} };
  return { network: { segments: [xnor, eie] }, sparseModel, details };
}

/** The layer with column k reading the float layer's column order[k]. */
export function permuteColumns(fl: FloatLayer, order: Int32Array): FloatLayer {
  const weight = new Float32Array(fl.weight.length);
  for (let i = 0; i < fl.rows; i++) for (let k = 0; k < fl.cols; k++) weight[i * fl.cols + k] = fl.weight[i * fl.cols + order[k]];
  return { ...fl, weight };
}

/**
 * The first EIE layer of a hybrid network, taking bits b as 0 / 1.0 instead of x = 2b − 1 = ±1.0: in integers
 * (codebook q with wFrac fractional bits, bias B with actFrac + wFrac), W·(2b − 1) + B = 2q·b + (B − Σⱼ qᵢⱼ·2^actFrac),
 * so the layer computes bit for bit what it computed on ±1, and the EIE engine still skips the zeros.
 */
export function foldBitInput(layer: EieLayer, numeric: NumericFormat): EieLayer {
  const max = 2 ** (numeric.weightBits - 1) - 1;
  const codebook = layer.codebook.map((q) => 2 * q);
  const big = codebook.findIndex((q) => Math.abs(q) > max);
  if (big >= 0) {
    throw new HwgenError(`layer '${layer.name}': the shared weight ${layer.codebook[big]} doubled by the fold of the bits (x = 2b − 1) does not fit ${numeric.weightBits}-bit weights; raise --weight-bits`);
  }
  const w = decodeDenseCodes(layer);
  const one = 2 ** numeric.actFrac;
  const bias = layer.bias.map((b, i) => {
    let sum = 0;
    for (let j = 0; j < layer.cols; j++) sum += w[i * layer.cols + j];
    const folded = b - sum * one;
    if (saturate(folded, numeric.accBits) !== folded) {
      throw new HwgenError(
        `layer '${layer.name}': folding the bits (x = 2b − 1) into bias[${i}] gives ${folded / 2 ** (numeric.actFrac + layer.wFrac)}, which does not fit the ` +
          `${numeric.accBits}-bit accumulator with ${numeric.actFrac + layer.wFrac} fractional bits; raise --acc-bits or lower --act-frac`,
      );
    }
    return folded + 0; // + 0: no -0
  });
  return { ...layer, codebook, bias };
}

import { readFileChecked } from '../atomic.js';
import { basename, extname } from 'node:path';
import { HwgenError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { parseNpy } from './npy.js';
import { parseNpz } from './npz.js';
import { fcLayersFromOnnx, parseOnnxGraph, type OnnxGraph } from './onnx.js';
import type { BatchNorm, FloatLayer, FloatModel } from './types.js';
import { checkLayerNames, layerName } from './names.js';

/** Which layers get a ReLU when the file does not say (npy, npz): the usual MLP has one after every hidden layer. */
export type ReluRule = 'hidden' | 'all' | 'none';

export const WEIGHT_FORMATS =
  '.npy (one layer), .npz (NAME.weight [out, in] + optional NAME.bias, NAME.bn.gamma/beta/mean/var[/eps] with --binary), ' +
  '.onnx (Gemm/MatMul; BatchNormalization and Sign with --binary)';

/** Batch-norm arrays of a layer in an .npz: NAME.bn.gamma, .beta, .mean, .var ([out] each) and optional .eps (scalar). */
export const BN_SUFFIXES = ['gamma', 'beta', 'mean', 'var'] as const;
export const BN_DEFAULT_EPS = 1e-5;

/**
 * Reads the fully-connected layers of a weights file and checks they form a valid chain. With `binary`, batch-norm
 * after a layer is read too (npz NAME.bn.*, ONNX BatchNormalization) and ONNX Sign activations are accepted.
 */
export interface LoadOptions {
  /** Read batch-norm and convolutions (layers for the XNOR units). */
  binary?: boolean;
  /** [C, H, W] of the input feature map, needed when the first layer is a convolution. */
  inputShape?: number[];
  /** Padding of .npz convolutions (ONNX nodes say it themselves). */
  convPadding?: 'valid' | 'same';
}

export function loadWeights(path: string, relu: ReluRule = 'hidden', opts: LoadOptions = {}): FloatModel {
  const buf = readFileChecked(path, 'weights file');
  const ext = extname(path).toLowerCase();
  let raw: RawLayer[];
  let reluFromFile = false;
  if (ext === '.npy') raw = [{ name: layerName(basename(path, ext)), weight: parseNpy(buf, path) }];
  else if (ext === '.npz') raw = layersFromNpz(parseNpz(buf, path), path, opts.convPadding ?? 'same');
  else if (ext === '.onnx') {
    const graph = parseOnnxGraph(buf, path);
    const bns = opts.binary ? takeBatchNorms(graph, path) : new Map<number, BatchNorm>();
    raw = fcLayersFromOnnx(graph, path).map((l, i) => ({ ...l, name: layerName(l.name), bn: bns.get(i) }));
    reluFromFile = true;
  } else {
    throw new HwgenError(`${path}: unknown weights format '${ext || '(no extension)'}'; hwgen reads ${WEIGHT_FORMATS}`);
  }
  if (raw.length === 0) throw new HwgenError(`${path}: no fully-connected layer found; hwgen reads ${WEIGHT_FORMATS}`);
  checkLayerNames(
    raw.map((r) => r.name),
    path,
    "hwgen keeps only [A-Za-z0-9_] of a name (the rest becomes '_'): rename the layers in the weights file so they differ",
  );
  const layers = raw.map((r, i) =>
    toFloatLayer(r, path, reluFromFile ? Boolean(r.relu) : relu === 'all' || (relu === 'hidden' && i < raw.length - 1)),
  );
  const withBn = layers.find((l) => l.bn);
  if (withBn && !opts.binary) {
    throw new HwgenError(`${path}: layer '${withBn.name}' has batch-norm, which only binary layers fold (into thresholds); compress with --binary, or fold it into the weights first`);
  }
  const conv = layers.find((l) => l.conv);
  if (conv && !opts.binary) {
    throw new HwgenError(`${path}: layer '${conv.name}' is a convolution, which only the XNOR units run; compress with --binary`);
  }
  if (conv) placeFeatureMaps(layers, opts.inputShape, path);
  else if (opts.inputShape) checkInputShape(opts.inputShape, layers[0], path);
  checkChain(layers, path);
  return { source: path, layers };
}

interface RawLayer {
  name: string;
  weight: NdArray;
  bias?: NdArray;
  relu?: boolean;
  bn?: BatchNorm;
  conv?: { kernel: number; padding: 'valid' | 'same' };
  pool?: number;
}

/**
 * Takes the BatchNormalization nodes out of a chain (each becomes an Identity, as do Sign activations) and
 * returns their parameters by the index of the fully-connected layer they follow.
 */
function takeBatchNorms(graph: OnnxGraph, where: string): Map<number, BatchNorm> {
  const out = new Map<number, BatchNorm>();
  let layer = -1;
  graph.nodes = graph.nodes.map((n) => {
    if (n.opType === 'Gemm' || n.opType === 'MatMul' || n.opType === 'Conv') layer++;
    if (n.opType === 'Sign') return { ...n, opType: 'Identity', inputs: n.inputs.slice(0, 1) };
    if (n.opType !== 'BatchNormalization') return n;
    const at = `${where}: node '${n.name || n.outputs[0]}' (BatchNormalization)`;
    if (layer < 0) throw new HwgenError(`${at}: batch-norm before the first layer is not supported; fold it into the input scaling`);
    if (out.has(layer)) throw new HwgenError(`${at}: a second batch-norm after one layer; hwgen folds one per layer`);
    const arr = (k: number, what: string): Float64Array => {
      const a = graph.initializers.get(n.inputs[k] ?? '');
      if (!a) throw new HwgenError(`${at}: its ${what} '${n.inputs[k]}' is not an initializer; export with constant batch-norm parameters`);
      return Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
    };
    const eps = n.attrs.epsilon ?? BN_DEFAULT_EPS;
    if (typeof eps !== 'number') throw new HwgenError(`${at}: attribute epsilon must be a number`);
    out.set(layer, { gamma: arr(1, 'scale'), beta: arr(2, 'bias'), mean: arr(3, 'mean'), variance: arr(4, 'variance'), eps });
    return { ...n, opType: 'Identity', inputs: n.inputs.slice(0, 1), outputs: n.outputs.slice(0, 1) };
  });
  return out;
}

/** `NAME.weight` arrays in archive order, each with an optional `NAME.bias`; anything else is an error. */
function layersFromNpz(entries: { name: string; array: NdArray }[], path: string, padding: 'valid' | 'same'): RawLayer[] {
  const byName = new Map(entries.map((e) => [e.name, e.array]));
  const used = new Set<string>();
  const layers: RawLayer[] = [];
  for (const { name, array } of entries) {
    if (!name.endsWith('.weight')) continue;
    const base = name.slice(0, -'.weight'.length);
    used.add(name);
    const bias = byName.get(`${base}.bias`);
    if (bias) used.add(`${base}.bias`);
    let bn: BatchNorm | undefined;
    if (BN_SUFFIXES.some((k) => byName.has(`${base}.bn.${k}`))) {
      const get = (k: string): Float64Array => {
        const a = byName.get(`${base}.bn.${k}`);
        if (!a) throw new HwgenError(`${path}: layer '${base}' has some batch-norm arrays but no '${base}.bn.${k}'; give gamma, beta, mean and var`);
        used.add(`${base}.bn.${k}`);
        return Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
      };
      const eps = byName.get(`${base}.bn.eps`);
      if (eps) used.add(`${base}.bn.eps`);
      bn = { gamma: get('gamma'), beta: get('beta'), mean: get('mean'), variance: get('var'), eps: eps ? Number(eps.data[0]) : BN_DEFAULT_EPS };
    }
    const layer: RawLayer = { name: layerName(base), weight: array, bias, bn };
    if (array.shape.length === 4) layer.conv = { kernel: array.shape[2], padding };
    const pool = byName.get(`${base}.pool`);
    if (pool) {
      used.add(`${base}.pool`);
      if (pool.shape.length !== 0 || !['i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8'].includes(pool.dtype) || Number(pool.data[0]) < 1) {
        throw new HwgenError(`${path}: '${base}.pool' must be a positive integer scalar (the max-pool window = stride)`);
      }
      layer.pool = Number(pool.data[0]);
    }
    layers.push(layer);
  }
  const unused = entries.map((e) => e.name).filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new HwgenError(
      `${path}: array${unused.length > 1 ? 's' : ''} ${unused.map((n) => `'${n}'`).join(', ')} not understood; ` +
        `name each layer's arrays NAME.weight (shape [out, in], or [out, in, k, k] for a convolution) and NAME.bias (shape [out]), ` +
        `batch-norm NAME.bn.gamma/beta/mean/var (+ optional NAME.bn.eps), and max-pooling NAME.pool (an integer scalar)`,
    );
  }
  return layers;
}

function toFloatLayer(r: RawLayer, path: string, relu: boolean): FloatLayer {
  const where = `${path}: layer '${r.name}'`;
  const w = floatData(r.weight, `${where} weight`);
  const shape = r.weight.shape;
  if (r.conv ? shape.length !== 4 || shape[2] !== shape[3] : shape.length !== 2) {
    throw new HwgenError(
      `${where}: weight has shape (${shape.join(', ')}); a fully-connected layer needs 2 dimensions [out, in], a convolution 4 [out, in, k, k]`,
    );
  }
  if (r.pool !== undefined && !r.conv) throw new HwgenError(`${where}: max-pooling follows convolutions only`);
  const rows = shape[0];
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  if (rows === 0 || cols === 0) throw new HwgenError(`${where}: weight has an empty shape (${rows}, ${cols})`);
  checkFinite(w, `${where} weight`, cols);
  let bias: Float32Array | undefined;
  if (r.bias) {
    if (r.bias.shape.length !== 1 || r.bias.shape[0] !== rows) {
      throw new HwgenError(`${where}: bias has shape (${r.bias.shape.join(', ')}); it must be (${rows}) to match the weight's rows`);
    }
    bias = floatData(r.bias, `${where} bias`);
    checkFinite(bias, `${where} bias`, rows);
  }
  if (r.bn) {
    for (const [k, a] of Object.entries(r.bn)) {
      if (k === 'eps') {
        if (!Number.isFinite(a) || (a as number) < 0) throw new HwgenError(`${where}: batch-norm eps is ${a}; it must be a finite number >= 0`);
        continue;
      }
      const v = a as Float64Array;
      if (v.length !== rows) throw new HwgenError(`${where}: batch-norm ${k} has ${v.length} values; the layer has ${rows} outputs`);
      if (!v.every(Number.isFinite)) throw new HwgenError(`${where}: batch-norm ${k} has a value that is not finite`);
    }
  }
  const layer: FloatLayer = { name: r.name, rows, cols, weight: w, bias, relu, bn: r.bn };
  if (r.conv) {
    // in/height/width are set by placeFeatureMaps, which follows the maps through the chain
    layer.conv = { inChannels: shape[1], inHeight: 0, inWidth: 0, kernel: r.conv.kernel, padding: r.conv.padding };
    layer.pool = r.pool ?? 1;
  }
  return layer;
}

/**
 * Follows the feature map from the input shape through the convolutions (and pools), filling in each
 * convolution's input size, and checks that every layer takes what the one before gives. A fully-connected
 * layer after a convolution takes the flattened map.
 */
function placeFeatureMaps(layers: FloatLayer[], inputShape: number[] | undefined, path: string): void {
  if (!layers[0].conv) throw new HwgenError(`${path}: a convolution after a fully-connected layer is not supported; convolutions come first`);
  if (!inputShape) throw new HwgenError(`${path}: the first layer '${layers[0].name}' is a convolution; give the input's size with --input-shape C,H,W`);
  let [c, h, w] = inputShape;
  let afterFc = false;
  for (const l of layers) {
    const at = `${path}: layer '${l.name}'`;
    if (!l.conv) {
      const n = afterFc ? c : c * h * w;
      if (l.cols !== n) throw new HwgenError(`${at} takes ${l.cols} inputs but ${afterFc ? 'the layer' : `the ${c}x${h}x${w} feature map`} before it gives ${n}`);
      c = l.rows;
      afterFc = true;
      continue;
    }
    if (afterFc) throw new HwgenError(`${at}: a convolution after a fully-connected layer is not supported; convolutions come first`);
    if (l.conv.inChannels !== c) throw new HwgenError(`${at} takes ${l.conv.inChannels} channels but gets ${c}`);
    l.conv.inHeight = h;
    l.conv.inWidth = w;
    const k = l.conv.kernel;
    const [oh, ow] = l.conv.padding === 'same' ? [h, w] : [h - k + 1, w - k + 1];
    if (oh < 1 || ow < 1) throw new HwgenError(`${at}: a ${k}x${k} 'valid' convolution does not fit its ${h}x${w} input`);
    const p = l.pool ?? 1;
    if (Math.floor(oh / p) < 1 || Math.floor(ow / p) < 1) throw new HwgenError(`${at}: a ${p}x${p} pool does not fit its ${oh}x${ow} output`);
    [c, h, w] = [l.rows, Math.floor(oh / p), Math.floor(ow / p)];
  }
}

function checkInputShape(shape: number[], first: FloatLayer, path: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== first.cols) throw new HwgenError(`${path}: --input-shape ${shape.join(',')} has ${n} values; the first layer takes ${first.cols}`);
}

function floatData(a: NdArray, where: string): Float32Array {
  if (a.dtype === 'f4') return a.data as Float32Array;
  if (a.dtype === 'f8') return Float32Array.from(a.data as Float64Array);
  throw new HwgenError(`${where}: dtype '${a.dtype}' is not a float; save the weights as float32 or float64`);
}

function checkFinite(x: Float32Array, where: string, cols: number): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const at = cols === x.length ? `[${i}]` : `[${Math.floor(i / cols)}, ${i % cols}]`;
      throw new HwgenError(`${where}: ${x[i]} at ${at}; weights must be finite: fix the training or the export`);
    }
  }
}

function checkChain(layers: FloatLayer[], path: string): void {
  for (let l = 1; l < layers.length; l++) {
    if (layers[l].conv || layers[l - 1].conv) continue; // feature maps: placeFeatureMaps checked them
    if (layers[l].cols !== layers[l - 1].rows) {
      throw new HwgenError(
        `${path}: layer '${layers[l].name}' takes ${layers[l].cols} inputs but '${layers[l - 1].name}' gives ${layers[l - 1].rows} outputs; ` +
          `layers must chain in file order`,
      );
    }
  }
}

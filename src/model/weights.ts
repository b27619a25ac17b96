import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { HwgenError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { parseNpy } from './npy.js';
import { parseNpz } from './npz.js';
import { fcLayersFromOnnx, parseOnnxGraph, type OnnxGraph } from './onnx.js';
import type { BatchNorm, FloatLayer, FloatModel } from './types.js';

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
export function loadWeights(path: string, relu: ReluRule = 'hidden', opts: { binary?: boolean } = {}): FloatModel {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new HwgenError(`${path}: cannot read the weights file (${(e as NodeJS.ErrnoException).code ?? e}); check the path`);
  }
  const ext = extname(path).toLowerCase();
  let raw: RawLayer[];
  let reluFromFile = false;
  if (ext === '.npy') raw = [{ name: layerName(basename(path, ext)), weight: parseNpy(buf, path) }];
  else if (ext === '.npz') raw = layersFromNpz(parseNpz(buf, path), path);
  else if (ext === '.onnx') {
    const graph = parseOnnxGraph(buf, path);
    const bns = opts.binary ? takeBatchNorms(graph, path) : new Map<number, BatchNorm>();
    raw = fcLayersFromOnnx(graph, path).map((l, i) => ({ ...l, name: layerName(l.name), bn: bns.get(i) }));
    reluFromFile = true;
  } else {
    throw new HwgenError(`${path}: unknown weights format '${ext || '(no extension)'}'; hwgen reads ${WEIGHT_FORMATS}`);
  }
  if (raw.length === 0) throw new HwgenError(`${path}: no fully-connected layer found; hwgen reads ${WEIGHT_FORMATS}`);
  const layers = raw.map((r, i) =>
    toFloatLayer(r, path, reluFromFile ? Boolean(r.relu) : relu === 'all' || (relu === 'hidden' && i < raw.length - 1)),
  );
  const withBn = layers.find((l) => l.bn);
  if (withBn && !opts.binary) {
    throw new HwgenError(`${path}: layer '${withBn.name}' has batch-norm, which only binary layers fold (into thresholds); compress with --binary, or fold it into the weights first`);
  }
  checkChain(layers, path);
  return { source: path, layers };
}

interface RawLayer {
  name: string;
  weight: NdArray;
  bias?: NdArray;
  relu?: boolean;
  bn?: BatchNorm;
}

/**
 * Takes the BatchNormalization nodes out of a chain (each becomes an Identity, as do Sign activations) and
 * returns their parameters by the index of the fully-connected layer they follow.
 */
function takeBatchNorms(graph: OnnxGraph, where: string): Map<number, BatchNorm> {
  const out = new Map<number, BatchNorm>();
  let layer = -1;
  graph.nodes = graph.nodes.map((n) => {
    if (n.opType === 'Gemm' || n.opType === 'MatMul') layer++;
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
function layersFromNpz(entries: { name: string; array: NdArray }[], path: string): RawLayer[] {
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
    layers.push({ name: layerName(base), weight: array, bias, bn });
  }
  const unused = entries.map((e) => e.name).filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new HwgenError(
      `${path}: array${unused.length > 1 ? 's' : ''} ${unused.map((n) => `'${n}'`).join(', ')} not understood; ` +
        `name each layer's arrays NAME.weight (shape [out, in]) and NAME.bias (shape [out]), and batch-norm NAME.bn.gamma/beta/mean/var (+ optional NAME.bn.eps)`,
    );
  }
  return layers;
}

function toFloatLayer(r: RawLayer, path: string, relu: boolean): FloatLayer {
  const where = `${path}: layer '${r.name}'`;
  const w = floatData(r.weight, `${where} weight`);
  if (r.weight.shape.length !== 2) {
    throw new HwgenError(`${where}: weight has shape (${r.weight.shape.join(', ')}); a fully-connected layer needs 2 dimensions [out, in]`);
  }
  const [rows, cols] = r.weight.shape;
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
  return { name: r.name, rows, cols, weight: w, bias, relu, bn: r.bn };
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
    if (layers[l].cols !== layers[l - 1].rows) {
      throw new HwgenError(
        `${path}: layer '${layers[l].name}' takes ${layers[l].cols} inputs but '${layers[l - 1].name}' gives ${layers[l - 1].rows} outputs; ` +
          `layers must chain in file order`,
      );
    }
  }
}

/** Layer names become identifiers in generated files: keep [A-Za-z0-9_], map the rest to '_'. */
export function layerName(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+|_+$/g, '');
  return s === '' ? 'layer' : /^[0-9]/.test(s) ? `l${s}` : s;
}

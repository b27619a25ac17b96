import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { HwgenError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { parseNpy } from './npy.js';
import { parseNpz } from './npz.js';
import { fcLayersFromOnnx, parseOnnxGraph } from './onnx.js';
import type { FloatLayer, FloatModel } from './types.js';

/** Which layers get a ReLU when the file does not say (npy, npz): the usual MLP has one after every hidden layer. */
export type ReluRule = 'hidden' | 'all' | 'none';

export const WEIGHT_FORMATS = '.npy (one layer), .npz (NAME.weight [out, in] + optional NAME.bias), .onnx (Gemm/MatMul)';

/** Reads the fully-connected layers of a weights file and checks they form a valid chain. */
export function loadWeights(path: string, relu: ReluRule = 'hidden'): FloatModel {
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
    raw = fcLayersFromOnnx(parseOnnxGraph(buf, path), path).map((l) => ({ ...l, name: layerName(l.name) }));
    reluFromFile = true;
  } else {
    throw new HwgenError(`${path}: unknown weights format '${ext || '(no extension)'}'; hwgen reads ${WEIGHT_FORMATS}`);
  }
  if (raw.length === 0) throw new HwgenError(`${path}: no fully-connected layer found; hwgen reads ${WEIGHT_FORMATS}`);
  const layers = raw.map((r, i) =>
    toFloatLayer(r, path, reluFromFile ? Boolean(r.relu) : relu === 'all' || (relu === 'hidden' && i < raw.length - 1)),
  );
  checkChain(layers, path);
  return { source: path, layers };
}

interface RawLayer {
  name: string;
  weight: NdArray;
  bias?: NdArray;
  relu?: boolean;
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
    layers.push({ name: layerName(base), weight: array, bias });
  }
  const unused = entries.map((e) => e.name).filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new HwgenError(
      `${path}: array${unused.length > 1 ? 's' : ''} ${unused.map((n) => `'${n}'`).join(', ')} not understood; ` +
        `name each layer's arrays NAME.weight (shape [out, in]) and NAME.bias (shape [out])`,
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
  return { name: r.name, rows, cols, weight: w, bias, relu };
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

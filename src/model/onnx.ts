/**
 * ONNX models: the graph (decoded with protobufjs from the subset of onnx.proto in onnx-schema.ts) and the chain of
 * fully-connected layers hwgen builds hardware for.
 */
import protobuf from 'protobufjs';
import { HwgenError } from '../errors.js';
import type { DType, NdArray } from './ndarray.js';
import { checkedCount, itemSize, typedFromLittleEndian } from './npy.js';
import { ONNX_ATTR_TYPE, ONNX_DATA_TYPE, ONNX_EXTERNAL, ONNX_SCHEMA } from './onnx-schema.js';

export type OnnxAttr = number | number[] | string | NdArray;

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, OnnxAttr>;
}

export interface OnnxGraph {
  initializers: Map<string, NdArray>;
  /** In file order, which ONNX requires to be topological. */
  nodes: OnnxNode[];
  /** Graph inputs that are not initializers (the data the model is run on). */
  inputs: string[];
  outputs: string[];
}

export interface FcLayer {
  name: string;
  /** [out, in], or [out, in, k, k] for a convolution; float32 or float64 as stored. */
  weight: NdArray;
  /** [out], same dtype as the weight. */
  bias?: NdArray;
  relu: boolean;
  /** Set for a Conv node (stride 1, square kernel, one group). */
  conv?: { kernel: number; padding: 'valid' | 'same' };
  /** Window (= stride) of a MaxPool after the layer. */
  pool?: number;
}

/** Long (from protobufjs) or number; toString gives the exact decimal value. */
type Int64 = number | { toString(): string };

interface TensorMsg {
  dims: Int64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  name: string;
  rawData: Uint8Array;
  doubleData: number[];
  uint64Data: Int64[];
  externalData: { key: string; value: string }[];
  dataLocation: number;
}
interface AttrMsg {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t: TensorMsg | null;
  floats: number[];
  ints: Int64[];
}
interface NodeMsg {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttrMsg[];
}
interface GraphMsg {
  node: NodeMsg[];
  initializer: TensorMsg[];
  input: { name: string }[];
  output: { name: string }[];
}

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

/** Decodes an ONNX ModelProto and returns its main graph with tensors as NdArrays. */
export function parseOnnxGraph(buf: Uint8Array, where: string): OnnxGraph {
  let graph: GraphMsg | null;
  try {
    graph = (onnxModelType().decode(buf) as unknown as { graph: GraphMsg | null }).graph;
  } catch (e) {
    throw new HwgenError(`${where}: not a valid ONNX model (${(e as Error).message}); export it again with torch.onnx.export or onnx.save`);
  }
  if (!graph) throw new HwgenError(`${where}: the ONNX model has no graph; is this an ONNX file? Export it again with onnx.save`);
  const initializers = new Map<string, NdArray>();
  for (const t of graph.initializer) {
    if (initializers.has(t.name)) throw new HwgenError(`${where}: initializer '${t.name}' is defined twice; the model is invalid`);
    initializers.set(t.name, tensorToNdArray(t, where));
  }
  return {
    initializers,
    nodes: graph.node.map((n) => toNode(n, where)),
    inputs: graph.input.map((v) => v.name).filter((n) => !initializers.has(n)),
    outputs: graph.output.map((v) => v.name),
  };
}

function toNode(n: NodeMsg, where: string): OnnxNode {
  const attrs = Object.create(null) as Record<string, OnnxAttr>; // attribute names are data, not keys of Object.prototype
  for (const a of n.attribute) {
    const v = attrValue(a, `${where}: node '${n.name}' (${n.opType}) attribute '${a.name}'`);
    if (v !== undefined) attrs[a.name] = v;
  }
  // Ops of other domains keep their domain, so a custom 'Gemm' is never taken for the standard one.
  const opType = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
  return { opType, name: n.name, inputs: [...n.input], outputs: [...n.output], attrs };
}

/** Attribute kinds no op hwgen reads uses (graphs, string lists, ...) are left out. */
function attrValue(a: AttrMsg, where: string): OnnxAttr | undefined {
  switch (a.type) {
    case ONNX_ATTR_TYPE.FLOAT: return a.f;
    case ONNX_ATTR_TYPE.INT: return Number(a.i.toString()); // huge sentinels such as INT64_MAX round, as in Python
    case ONNX_ATTR_TYPE.STRING: return new TextDecoder().decode(a.s);
    case ONNX_ATTR_TYPE.TENSOR:
      if (!a.t) throw new HwgenError(`${where}: tensor attribute without a tensor; the model is invalid`);
      return tensorToNdArray(a.t, where);
    case ONNX_ATTR_TYPE.FLOATS: return [...a.floats];
    case ONNX_ATTR_TYPE.INTS: return a.ints.map((v) => Number(v.toString()));
    default: return undefined;
  }
}

const DTYPE_OF: Record<number, DType> = {
  [ONNX_DATA_TYPE.FLOAT]: 'f4', [ONNX_DATA_TYPE.DOUBLE]: 'f8', [ONNX_DATA_TYPE.INT8]: 'i1', [ONNX_DATA_TYPE.INT16]: 'i2',
  [ONNX_DATA_TYPE.INT32]: 'i4', [ONNX_DATA_TYPE.INT64]: 'i8', [ONNX_DATA_TYPE.UINT8]: 'u1', [ONNX_DATA_TYPE.UINT16]: 'u2',
  [ONNX_DATA_TYPE.UINT32]: 'u4', [ONNX_DATA_TYPE.UINT64]: 'u8', [ONNX_DATA_TYPE.BOOL]: 'b1',
};

function typeName(code: number): string {
  const entry = Object.entries(ONNX_DATA_TYPE).find(([, v]) => v === code);
  return entry ? entry[0] : `data type ${code}`;
}

/** A TensorProto's values, from raw_data (little-endian) or the typed field ONNX uses for its data type. */
function tensorToNdArray(t: TensorMsg, where: string): NdArray {
  const at = `${where}: tensor '${t.name}'`;
  if (t.dataLocation === ONNX_EXTERNAL || t.externalData.length > 0) {
    const loc = t.externalData.find((e) => e.key === 'location')?.value;
    throw new HwgenError(
      `${at} is stored as external data${loc ? ` in '${loc}'` : ''}, which hwgen does not read; ` +
        `re-save the model as one file: onnx.save(onnx.load(path), out_path, save_as_external_data=False)`,
    );
  }
  const dtype = DTYPE_OF[t.dataType];
  if (!dtype) {
    throw new HwgenError(`${at} has type ${typeName(t.dataType)}, which hwgen does not read; it reads FLOAT, DOUBLE, INT8..INT64, UINT8..UINT64 and BOOL`);
  }
  const shape = t.dims.map((d) => Number(d.toString()));
  const typed = typedField(t, dtype);
  if (t.rawData.length > 0 && typed.length > 0) throw new HwgenError(`${at} has both raw_data and typed data; the model is invalid`);
  if (t.rawData.length > 0 || typed.length === 0) {
    const count = checkedCount(shape, t.rawData.length, at, 'dims');
    const need = count * itemSize(dtype);
    if (t.rawData.length !== need) {
      throw new HwgenError(`${at}: dims (${shape.join(', ')}) of ${typeName(t.dataType)} need ${need} bytes of data but ${t.rawData.length} are present; the model is corrupted`);
    }
    return { dtype, shape, data: typedFromLittleEndian(t.rawData, dtype) };
  }
  const count = checkedCount(shape, typed.length, at, 'dims');
  if (typed.length !== count) {
    throw new HwgenError(`${at}: dims (${shape.join(', ')}) need ${count} values but ${typed.length} are present; the model is corrupted`);
  }
  return { dtype, shape, data: fromTyped(typed, dtype) };
}

/** The repeated field onnx.proto stores a data type in when raw_data is not used. */
function typedField(t: TensorMsg, dtype: DType): (number | Int64)[] {
  switch (dtype) {
    case 'f4': return t.floatData;
    case 'f8': return t.doubleData;
    case 'i8': return t.int64Data;
    case 'u4': case 'u8': return t.uint64Data;
    default: return t.int32Data;
  }
}

function fromTyped(v: (number | Int64)[], dtype: DType): NdArray['data'] {
  const num = (x: number | Int64): number => (typeof x === 'number' ? x : Number(x.toString()));
  const big = (x: number | Int64): bigint => BigInt(typeof x === 'number' ? Math.trunc(x) : x.toString());
  switch (dtype) {
    case 'f4': return Float32Array.from(v, num);
    case 'f8': return Float64Array.from(v, num);
    case 'i1': return Int8Array.from(v, num);
    case 'i2': return Int16Array.from(v, num);
    case 'i4': return Int32Array.from(v, num);
    case 'i8': return BigInt64Array.from(v, big);
    case 'u1': return Uint8Array.from(v, num);
    case 'u2': return Uint16Array.from(v, num);
    case 'u4': return Uint32Array.from(v, num);
    case 'u8': return BigUint64Array.from(v, (x) => BigInt.asUintN(64, big(x)));
    case 'b1': return Uint8Array.from(v, (x) => (num(x) !== 0 ? 1 : 0));
  }
}

const SHAPE_ONLY = new Set(['Flatten', 'Reshape', 'Identity']);
const SUPPORTED_OPS = 'Gemm, MatMul, Conv (stride 1), MaxPool (window = stride), Add (bias), Relu, and the shape-only Flatten, Reshape, Identity, Constant';

/** Walk state: the tensor carrying the activations, and the last layer while its output may still take a bias. */
interface Walk {
  consts: Map<string, NdArray>;
  alias: Map<string, string>;
  layers: FcLayer[];
  current?: string;
  open?: FcLayer;
}

/** The fully-connected layers of a graph in order, for a single chain Gemm/MatMul(+Add) [→ Relu] → ... */
export function fcLayersFromOnnx(graph: OnnxGraph, where: string): FcLayer[] {
  const w: Walk = { consts: new Map(graph.initializers), alias: new Map(), layers: [] };
  for (const node of graph.nodes) {
    const at = `${where}: node '${node.name || node.outputs[0] || '?'}' (${node.opType})`;
    if (node.opType === 'Constant') {
      const v = node.attrs.value;
      if (typeof v === 'object' && !Array.isArray(v) && node.outputs[0]) w.consts.set(node.outputs[0], v);
    } else if (SHAPE_ONLY.has(node.opType)) {
      if (node.outputs[0] !== undefined && node.inputs[0] !== undefined) w.alias.set(node.outputs[0], resolve(w, node.inputs[0]));
    } else if (node.opType === 'Gemm' || node.opType === 'MatMul' || node.opType === 'Conv') {
      addLayer(w, node, at);
    } else if (node.opType === 'MaxPool') {
      addPool(w, node, at);
    } else if (node.opType === 'Add') {
      addBias(w, node, at);
    } else if (node.opType === 'Relu') {
      addRelu(w, node, at);
    } else {
      throw new HwgenError(`${at}: operator ${node.opType} is not supported; hwgen reads ${SUPPORTED_OPS}`);
    }
  }
  return w.layers;
}

function resolve(w: Walk, name: string): string {
  return w.alias.get(name) ?? name;
}

function output(node: OnnxNode, at: string): string {
  if (!node.outputs[0]) throw new HwgenError(`${at}: the node has no output; the model is invalid`);
  return node.outputs[0];
}

function addLayer(w: Walk, node: OnnxNode, at: string): void {
  const x = resolve(w, node.inputs[0] ?? '');
  if (w.consts.has(x)) throw new HwgenError(`${at}: the first input is a constant; hwgen needs x @ W with the weight as the second input`);
  if (w.current !== undefined && x !== w.current) {
    throw new HwgenError(`${at}: its input '${node.inputs[0]}' is not the previous layer's output; hwgen reads a single chain of layers`);
  }
  const layer = node.opType === 'Gemm' ? gemmLayer(w, node, at) : node.opType === 'Conv' ? convLayer(w, node, at) : matMulLayer(w, node, at);
  w.layers.push(layer);
  w.current = output(node, at);
  w.open = layer;
}

/** The integer list attribute `key`, or `dflt`. */
function ints(node: OnnxNode, key: string, dflt: number[], at: string): number[] {
  const v = node.attrs[key] ?? dflt;
  if (typeof v === 'number') return [v];
  if (!Array.isArray(v)) throw new HwgenError(`${at}: attribute ${key} must be a list of integers`);
  return v;
}

/** A Conv node: stride 1, square kernel, one group, no dilation; 'valid' or 'same' padding. */
function convLayer(w: Walk, node: OnnxNode, at: string): FcLayer {
  const name = node.inputs[1] ?? '';
  const weight = w.consts.get(resolve(w, name));
  if (!weight) throw new HwgenError(`${at}: its weight '${name}' is not an initializer; hwgen needs constant weights (export with do_constant_folding=True)`);
  if (weight.dtype !== 'f4' && weight.dtype !== 'f8') throw new HwgenError(`${at}: weight '${name}' is ${weight.dtype}; hwgen needs float32 or float64 weights`);
  if (weight.shape.length !== 4 || weight.shape[2] !== weight.shape[3]) {
    throw new HwgenError(`${at}: weight '${name}' has shape (${weight.shape.join(', ')}); hwgen reads 2-D convolutions with square kernels [out, in, k, k]`);
  }
  const k = weight.shape[2];
  if (ints(node, 'strides', [1, 1], at).some((x) => x !== 1)) throw new HwgenError(`${at}: strides other than 1 are not supported; use a MaxPool to downsample`);
  if (ints(node, 'dilations', [1, 1], at).some((x) => x !== 1)) throw new HwgenError(`${at}: dilated convolutions are not supported`);
  if ((node.attrs.group ?? 1) !== 1) throw new HwgenError(`${at}: grouped convolutions are not supported (group = ${node.attrs.group})`);
  const autoPad = node.attrs.auto_pad ?? 'NOTSET';
  const pads = ints(node, 'pads', [0, 0, 0, 0], at);
  const before = (k - 1) >> 1;
  const after = k - 1 - before;
  let padding: 'valid' | 'same';
  if (autoPad === 'VALID' || (autoPad === 'NOTSET' && pads.every((x) => x === 0))) padding = 'valid';
  else if (autoPad === 'SAME_UPPER' || (autoPad === 'NOTSET' && pads.join() === [before, before, after, after].join())) padding = 'same';
  else throw new HwgenError(`${at}: padding ${autoPad === 'NOTSET' ? `pads=[${pads}]` : autoPad} is not supported; hwgen pads 'valid' (none) or 'same' ([${before}, ${before}, ${after}, ${after}])`);
  const layer: FcLayer = { name: node.name || name, weight, relu: false, conv: { kernel: k, padding } };
  const bName = node.inputs[2];
  if (bName) {
    const b = w.consts.get(resolve(w, bName));
    if (!b) throw new HwgenError(`${at}: its bias '${bName}' is not an initializer; hwgen needs a constant bias`);
    layer.bias = biasVector(b, weight, `${at} bias '${bName}'`);
  }
  return layer;
}

/** A MaxPool with window = stride after a convolution (binary layers: the OR of the window's bits). */
function addPool(w: Walk, node: OnnxNode, at: string): void {
  const last = w.layers[w.layers.length - 1];
  if (!last?.conv || resolve(w, node.inputs[0] ?? '') !== w.current) {
    throw new HwgenError(`${at}: a MaxPool must follow a convolution's output; hwgen reads a single chain of layers`);
  }
  const k = ints(node, 'kernel_shape', [], at);
  const strides = ints(node, 'strides', k, at);
  const pads = ints(node, 'pads', [0, 0, 0, 0], at);
  if (k.length !== 2 || k[0] !== k[1] || strides.join() !== k.join() || pads.some((x) => x !== 0) || last.pool) {
    throw new HwgenError(`${at}: hwgen pools square windows with stride = window and no padding, once per layer (kernel [${k}], strides [${strides}], pads [${pads}])`);
  }
  last.pool = k[0];
  w.current = output(node, at);
  w.open = undefined;
}

function weightOf(w: Walk, node: OnnxNode, at: string): { name: string; weight: NdArray } {
  const name = node.inputs[1] ?? '';
  const weight = w.consts.get(resolve(w, name));
  if (!weight) {
    throw new HwgenError(`${at}: its weight '${name}' is not an initializer; hwgen needs constant weights (export with do_constant_folding=True)`);
  }
  if (weight.dtype !== 'f4' && weight.dtype !== 'f8') throw new HwgenError(`${at}: weight '${name}' is ${weight.dtype}; hwgen needs float32 or float64 weights`);
  if (weight.shape.length !== 2) throw new HwgenError(`${at}: weight '${name}' has shape (${weight.shape.join(', ')}); a fully-connected layer needs 2 dimensions`);
  return { name, weight };
}

function matMulLayer(w: Walk, node: OnnxNode, at: string): FcLayer {
  const { name, weight } = weightOf(w, node, at);
  return { name: node.name || name, weight: transposed(weight), relu: false };
}

function gemmLayer(w: Walk, node: OnnxNode, at: string): FcLayer {
  const attr = (key: string, dflt: number): number => {
    const v = node.attrs[key] ?? dflt;
    if (typeof v !== 'number') throw new HwgenError(`${at}: attribute ${key} must be a number`);
    return v;
  };
  if (attr('transA', 0) !== 0) throw new HwgenError(`${at}: transA=1 is not supported; hwgen needs the input as [batch, in] (re-export without transposing it)`);
  const { name, weight: b } = weightOf(w, node, at);
  let weight = attr('transB', 0) !== 0 ? b : transposed(b);
  const alpha = attr('alpha', 1);
  if (alpha !== 1) weight = scaled(weight, alpha);
  const layer: FcLayer = { name: node.name || name, weight, relu: false };
  const beta = attr('beta', 1);
  const cName = node.inputs[2];
  if (cName && beta !== 0) {
    const c = w.consts.get(resolve(w, cName));
    if (!c) throw new HwgenError(`${at}: its bias '${cName}' is not an initializer; hwgen needs a constant bias`);
    layer.bias = biasVector(c, weight, `${at} bias '${cName}'`);
    if (beta !== 1) layer.bias = scaled(layer.bias, beta);
  }
  return layer;
}

/** Add(layer output, constant) folds into the layer's bias; any other Add is not a fully-connected layer. */
function addBias(w: Walk, node: OnnxNode, at: string): void {
  const [a, b] = node.inputs.map((n) => resolve(w, n));
  const open = w.open;
  const other = a === w.current ? b : b === w.current ? a : undefined;
  const c = other === undefined ? undefined : w.consts.get(other);
  if (!open || other === undefined || !c) {
    throw new HwgenError(`${at}: only an Add of a constant bias right after a Gemm/MatMul is supported; hwgen reads ${SUPPORTED_OPS}`);
  }
  const bias = biasVector(open.conv ? squeezed(c) : c, open.weight, `${at} bias '${other}'`);
  open.bias = open.bias ? summed(open.bias, bias) : bias;
  w.current = output(node, at);
}

function addRelu(w: Walk, node: OnnxNode, at: string): void {
  const last = w.layers[w.layers.length - 1];
  if (!last || resolve(w, node.inputs[0] ?? '') !== w.current) {
    throw new HwgenError(`${at}: a Relu must follow a fully-connected layer's output; hwgen reads a single chain of layers`);
  }
  last.relu = true;
  w.current = output(node, at);
  w.open = undefined;
}

/** A bias of shape [out], [1, out] or a single broadcast value, as a vector in the weight's dtype. */
function biasVector(c: NdArray, weight: NdArray, at: string): NdArray {
  const out = weight.shape[0];
  if (c.dtype !== 'f4' && c.dtype !== 'f8') throw new HwgenError(`${at}: bias is ${c.dtype}; hwgen needs a float bias`);
  const lastDim = c.shape.length ? c.shape[c.shape.length - 1] : 1;
  const leadingOnes = c.shape.slice(0, -1).every((d) => d === 1);
  const n = c.data.length;
  if (!leadingOnes || !(n === 1 || (n === out && lastDim === out))) {
    throw new HwgenError(`${at}: shape (${c.shape.join(', ')}) does not broadcast to the layer's ${out} outputs`);
  }
  const data = floatLike(weight, out);
  for (let i = 0; i < out; i++) data[i] = Number(c.data[n === 1 ? 0 : i]);
  return { dtype: weight.dtype, shape: [out], data };
}

function floatLike(a: NdArray, n: number): Float32Array | Float64Array {
  return a.dtype === 'f8' ? new Float64Array(n) : new Float32Array(n);
}

/** A per-channel constant of a convolution ([out, 1, 1] or [1, out, 1, 1]) as [out]. */
function squeezed(a: NdArray): NdArray {
  const dims = a.shape.filter((d) => d !== 1);
  return { ...a, shape: dims.length ? dims : [1] };
}

function transposed(a: NdArray): NdArray {
  const [r, c] = a.shape;
  const out = floatLike(a, r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = Number(a.data[i * c + j]);
  return { dtype: a.dtype, shape: [c, r], data: out };
}

/** Multiplies in the array's own precision, as the ONNX runtime would apply alpha/beta. */
function scaled(a: NdArray, k: number): NdArray {
  const out = floatLike(a, a.data.length);
  const kk = a.dtype === 'f4' ? Math.fround(k) : k;
  for (let i = 0; i < out.length; i++) out[i] = kk * Number(a.data[i]);
  return { ...a, data: out };
}

function summed(a: NdArray, b: NdArray): NdArray {
  const out = floatLike(a, a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]) + Number(b.data[i]);
  return { ...a, data: out };
}

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HwgenError } from '../errors.js';
import { runPython } from '../../test/helpers/python.js';
import type { NdArray } from './ndarray.js';
import { fcLayersFromOnnx, parseOnnxGraph } from './onnx.js';
import { expectHwgenError } from '../../test/helpers/errors.js';

/**
 * The onnx library writes the models; numpy computes what each layer's [out, in] weight and bias must be, so the
 * expectations never come from the code under test.
 */
const WRITE_MODELS = String.raw`
import json, os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
d = sys.argv[1]
rng = np.random.default_rng(5)
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
hexof = lambda a: np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes().hex()
out = {}

def save(name, nodes, inits, inputs=None, outputs=None, check=True, external=False, graph_inputs_extra=()):
    inputs = inputs or [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 2, 3])]
    outputs = outputs or [helper.make_tensor_value_info(nodes[-1].output[0] if nodes else 'x', TensorProto.FLOAT, ['N', 2])]
    inputs = inputs + [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in graph_inputs_extra]
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    if check:
        onnx.checker.check_model(m)
    path = os.path.join(d, name + '.onnx')
    if external:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location='w.bin', size_threshold=0)
    else:
        onnx.save(m, path)
    return path

W1, b1 = f32(4, 6), f32(4)           # Gemm transB=1: W is [out, in]
W2, b2 = f32(4, 5), f32(1, 5)        # Gemm transB=0: W is [in, out], bias [1, out]
W3, b3 = f32(5, 3), f32(3)           # MatMul + Add
W4, b4 = f32(2, 3), f32(2)           # Gemm transB=1, alpha=0.5, beta=2
mk = helper.make_node
nodes = [
    mk('Flatten', ['x'], ['xf'], axis=1),
    mk('Gemm', ['xf', 'W1', 'b1'], ['h1'], name='fc1', transB=1),
    mk('Relu', ['h1'], ['a1']),
    mk('Gemm', ['a1', 'W2', 'b2'], ['h2']),
    mk('Relu', ['h2'], ['a2']),
    mk('MatMul', ['a2', 'W3'], ['m3'], name='fc3'),
    mk('Add', ['m3', 'b3'], ['h3']),
    mk('Relu', ['h3'], ['a3']),
    mk('Identity', ['a3'], ['a3i']),
    mk('Gemm', ['a3i', 'W4', 'b4'], ['y'], name='out', transB=1, alpha=0.5, beta=2.0),
]
inits = [numpy_helper.from_array(a, n) for a, n in [(W1, 'W1'), (b1, 'b1'), (W2, 'W2'), (b2, 'b2'), (W3, 'W3'), (b3, 'b3'), (W4, 'W4'), (b4, 'b4')]]
half, two = np.float32(0.5), np.float32(2.0)
out['mlp'] = dict(
    path=save('mlp', nodes, inits, graph_inputs_extra=[('W1', [4, 6])]),
    layers=[dict(name=n, shape=list(w.shape), weight=hexof(w), bias=hexof(b.ravel()), relu=r) for n, w, b, r in [
        ('fc1', W1, b1, True), ('W2', W2.T, b2, True), ('fc3', W3.T, b3, True), ('out', half * W4, two * b4, False)]],
    inits={n: hexof(a) for a, n in [(W1, 'W1'), (b1, 'b1'), (W2, 'W2'), (b2, 'b2'), (W3, 'W3'), (b3, 'b3'), (W4, 'W4'), (b4, 'b4')]},
)

# PyTorch style: Reshape by a Constant shape, MatMul by a Constant weight, Add of a 0-d bias.
Wc, s0 = f32(6, 3), np.array(0.75, dtype=np.float32)
nodes = [
    mk('Constant', [], ['shape'], value=numpy_helper.from_array(np.array([-1, 6], dtype=np.int64))),
    mk('Reshape', ['x', 'shape'], ['xr']),
    mk('Constant', [], ['Wc'], value=numpy_helper.from_array(Wc)),
    mk('MatMul', ['xr', 'Wc'], ['m']),
    mk('Add', ['s0', 'm'], ['h']),
    mk('Relu', ['h'], ['y']),
]
out['constant'] = dict(
    path=save('constant', nodes, [numpy_helper.from_array(s0, 's0')], outputs=[helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 3])]),
    layers=[dict(name='Wc', shape=[3, 6], weight=hexof(Wc.T), bias=hexof(np.full(3, s0)), relu=True)],
)

# One initializer per dtype, both as raw_data (numpy_helper) and in the typed fields (make_tensor, raw=False).
tensors, expect = [], {}
samples = {
    TensorProto.FLOAT: f32(2, 3), TensorProto.DOUBLE: rng.standard_normal((3, 2)),
    TensorProto.INT8: np.array([-128, 5, 127], dtype=np.int8), TensorProto.INT16: np.array([[-32768, 7], [0, 32767]], dtype=np.int16),
    TensorProto.INT32: np.array([-2**31, 1, 2**31 - 1], dtype=np.int32), TensorProto.INT64: np.array([-2**63, 3, 2**63 - 1], dtype=np.int64),
    TensorProto.UINT8: np.array([0, 200, 255], dtype=np.uint8), TensorProto.UINT16: np.array([0, 65535], dtype=np.uint16),
    TensorProto.UINT32: np.array([0, 2**32 - 1, 7], dtype=np.uint32), TensorProto.UINT64: np.array([0, 2**64 - 1, 2**53 + 1], dtype=np.uint64),
    TensorProto.BOOL: np.array([[True, False], [False, True]]), TensorProto.FLOAT + 100: np.float32(1.25),
}
for code, a in samples.items():
    a = np.asarray(a)
    name = a.dtype.str[1:] + ('_0d' if a.ndim == 0 else '')
    tensors.append(numpy_helper.from_array(a, 'raw_' + name))
    tensors.append(helper.make_tensor('typed_' + name, code % 100, a.shape, a.flatten().tolist()))
    for prefix in ['raw_', 'typed_']:
        expect[prefix + name] = dict(dtype=a.dtype.str[1:], shape=list(a.shape), hex=hexof(a))
attr_tensor = np.arange(6, dtype=np.int64).reshape(2, 3)
custom = mk('Custom', ['x'], ['y'], domain='', f=1.5, i=-3, big=2**63 - 1, s='héllo', floats=[1.0, 2.5], ints=[1, -2, 3],
            t=numpy_helper.from_array(attr_tensor), strs=['a', 'b'], g=helper.make_graph([], 'sub', [], []))
out['tensors'] = dict(path=save('tensors', [custom], tensors, check=False), inits=expect, attr_t=hexof(attr_tensor))

def bad(name, nodes, inits, **kw):
    out[name] = save(name, nodes, inits, check=False, **kw)
W, b = f32(3, 6), f32(3)
init = lambda: [numpy_helper.from_array(W, 'W'), numpy_helper.from_array(b, 'b')]
bad('transA', [mk('Flatten', ['x'], ['xf']), mk('Gemm', ['xf', 'W', 'b'], ['y'], transA=1)], init())
bad('weight_input', [mk('Flatten', ['x'], ['xf']), mk('Gemm', ['xf', 'V', 'b'], ['y'], transB=1)], init(),
    inputs=[helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ['x', 'V']])
bad('external', [mk('Flatten', ['x'], ['xf']), mk('Gemm', ['xf', 'W', 'b'], ['y'], transB=1)], init(), external=True)
bad('sigmoid', [mk('Flatten', ['x'], ['xf']), mk('Gemm', ['xf', 'W', 'b'], ['h'], transB=1, name='fc'), mk('Sigmoid', ['h'], ['y'], name='act')], init())
bad('weight_first', [mk('Flatten', ['x'], ['xf']), mk('MatMul', ['W', 'xf'], ['y'], name='mm')], init())
bad('branch', [mk('Flatten', ['x'], ['xf']), mk('Gemm', ['xf', 'W', 'b'], ['h'], transB=1), mk('Gemm', ['xf', 'W', 'b'], ['y'], transB=1, name='second')], init())
bad('residual', [mk('Flatten', ['x'], ['xf']), mk('MatMul', ['xf', 'W'], ['h']), mk('Add', ['h', 'xf'], ['y'], name='res')], init())
bad('fp16', [mk('Flatten', ['x'], ['xf']), mk('MatMul', ['xf', 'H'], ['y'])], [numpy_helper.from_array(np.zeros((6, 2), np.float16), 'H')])
short = TensorProto(name='S', data_type=TensorProto.FLOAT, dims=[3], raw_data=b'\0' * 8)
bad('short', [mk('Flatten', ['x'], ['xf']), mk('MatMul', ['xf', 'S'], ['y'])], [short])
huge = TensorProto(name='H', data_type=TensorProto.FLOAT, dims=[2**40, 2**20], raw_data=b'\0' * 8)
bad('huge', [mk('Flatten', ['x'], ['xf']), mk('MatMul', ['xf', 'H'], ['y'])], [huge])
print(json.dumps(out))
`;

interface ExpectedLayer {
  name: string;
  shape: number[];
  weight: string;
  bias: string;
  relu: boolean;
}
interface Manifest {
  mlp: { path: string; layers: ExpectedLayer[]; inits: Record<string, string> };
  constant: { path: string; layers: ExpectedLayer[] };
  tensors: { path: string; inits: Record<string, { dtype: string; shape: number[]; hex: string }>; attr_t: string };
  [bad: string]: unknown;
}

const hex = (a: NdArray): string => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex');

let dir: string;
let m: Manifest;
const load = (path: string) => parseOnnxGraph(readFileSync(path), path);
const bad = (name: string): string => m[name] as string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-onnx-'));
  m = JSON.parse(runPython(WRITE_MODELS, [dir])) as Manifest;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseOnnxGraph on models written by onnx', () => {
  it('reads nodes, attributes, inputs and outputs', () => {
    const g = load(m.mlp.path);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Flatten', 'Gemm', 'Relu', 'Gemm', 'Relu', 'MatMul', 'Add', 'Relu', 'Identity', 'Gemm']);
    expect(g.nodes[1]).toMatchObject({ name: 'fc1', inputs: ['xf', 'W1', 'b1'], outputs: ['h1'] });
    expect({ ...g.nodes[9].attrs }).toEqual({ transB: 1, alpha: 0.5, beta: 2 });
    expect({ ...g.nodes[0].attrs }).toEqual({ axis: 1 });
    expect(g.inputs).toEqual(['x']); // 'W1' is listed as a graph input too, but it is an initializer
    expect(g.outputs).toEqual(['y']);
    expect(Object.fromEntries([...g.initializers].map(([k, v]) => [k, hex(v)]))).toEqual(m.mlp.inits);
  });

  it('reads every supported tensor type from raw_data and from the typed fields', () => {
    const g = load(m.tensors.path);
    const got = Object.fromEntries([...g.initializers].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, hex: hex(v) }]));
    expect(got).toEqual(m.tensors.inits);
    expect(Object.keys(got)).toHaveLength(24);
  });

  it('reads scalar, list, string and tensor attributes and leaves out graphs and string lists', () => {
    const attrs = load(m.tensors.path).nodes[0].attrs;
    const t = attrs.t as NdArray;
    expect({ ...attrs, t: undefined }).toEqual({ f: 1.5, i: -3, big: 2 ** 63, s: 'héllo', floats: [1, 2.5], ints: [1, -2, 3], t: undefined });
    expect({ dtype: t.dtype, shape: t.shape, hex: hex(t) }).toEqual({ dtype: 'i8', shape: [2, 3], hex: m.tensors.attr_t });
  });
});

describe('fcLayersFromOnnx', () => {
  it('extracts Gemm (transB 0/1, alpha/beta) and MatMul+Add layers as [out, in] with Relu flags', () => {
    const layers = fcLayersFromOnnx(load(m.mlp.path), m.mlp.path);
    expect(
      layers.map((l) => ({ name: l.name, shape: l.weight.shape, weight: hex(l.weight), bias: l.bias ? hex(l.bias) : '', relu: l.relu })),
    ).toEqual(m.mlp.layers);
    for (const l of layers) expect({ w: l.weight.dtype, b: l.bias?.dtype, bshape: l.bias?.shape }).toEqual({ w: 'f4', b: 'f4', bshape: [l.weight.shape[0]] });
  });

  it('takes weights from Constant nodes, skips Reshape and broadcasts a scalar bias', () => {
    const layers = fcLayersFromOnnx(load(m.constant.path), m.constant.path);
    expect(
      layers.map((l) => ({ name: l.name, shape: l.weight.shape, weight: hex(l.weight), bias: l.bias ? hex(l.bias) : '', relu: l.relu })),
    ).toEqual(m.constant.layers);
  });

  it('explains what it cannot turn into layers', () => {
    const fc = (name: string) => () => fcLayersFromOnnx(load(bad(name)), bad(name));
    expectHwgenError(fc('transA'), /transA=1 is not supported/);
    expectHwgenError(fc('weight_input'), /its weight 'V' is not an initializer/);
    expectHwgenError(fc('sigmoid'), /node 'act' \(Sigmoid\): operator Sigmoid is not supported; hwgen reads Gemm, MatMul/);
    expectHwgenError(fc('weight_first'), /node 'mm' \(MatMul\): the first input is a constant/);
    expectHwgenError(fc('branch'), /node 'second' \(Gemm\): its input 'xf' is not the previous layer's output/);
    expectHwgenError(fc('residual'), /node 'res' \(Add\): only an Add of a constant bias/);
    expectHwgenError(fc('fp16'), /tensor 'H' has type FLOAT16/);
  });

  it('rejects external data, short data and absurd dims', () => {
    expectHwgenError(() => load(bad('external')), /tensor 'W' is stored as external data in 'w\.bin'/);
    expectHwgenError(() => load(bad('short')), /tensor 'S': dims \(3\) of FLOAT need 12 bytes of data but 8 are present/);
    expectHwgenError(() => load(bad('huge')), /tensor 'H': dims \(1099511627776, 1048576\) needs more elements/);
  });

  it('rejects files that are not ONNX models', () => {
    expectHwgenError(() => parseOnnxGraph(new Uint8Array(0), 'e.onnx'), /^e\.onnx: the ONNX model has no graph/);
    expectHwgenError(() => parseOnnxGraph(Buffer.from('\x93NUMPY\x01\x00garbage'), 'n.onnx'), /^n\.onnx: not a valid ONNX model/);
  });
});

/**
 * Binary convolutions from real files: a small conv net written by numpy (.npz) and by the onnx library (.onnx),
 * compressed with --binary, must compute what numpy computes for the same XNOR-Net (sign weights × α, batch-norm,
 * sign, max-pool as OR, PyTorch's cross-correlation and (c, y, x) flattening) — which checks every layout
 * convention between the frameworks and the hardware's channel-fastest feature maps.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizeInput } from '../src/golden/eie.js';
import { binaryForward } from '../src/golden/xnor.js';
import { readAnyBundle } from '../src/model/bundle.js';
import type { BinaryBundle } from '../src/model/types.js';
import { encodeBundle } from '../src/model/bundle.js';
import { runPython } from './helpers/python.js';
import { runHwgen } from './helpers/cli.js';

let dir: string;

const NET = `
import numpy as np, sys, json, onnx
from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(11)
C, H, W = 3, 8, 8
L = [('c1', (6, 3, 3, 3), 2), ('c2', (8, 6, 2, 2), 1)]
arrays = {}
for name, shape, pool in L:
    arrays[name + '.weight'] = r.normal(size=shape).astype(np.float32)
    arrays[name + '.bias'] = (r.normal(size=shape[0]) * 0.5).astype(np.float32)
    for k, v in [('gamma', r.normal(size=shape[0])), ('beta', r.normal(size=shape[0])), ('mean', r.normal(size=shape[0]) * 2), ('var', r.uniform(0.5, 2, shape[0]))]:
        arrays[name + '.bn.' + k] = v.astype(np.float32)
    if pool > 1: arrays[name + '.pool'] = np.array(pool, np.int64)
arrays['fc.weight'] = r.normal(size=(5, 8 * 4 * 4)).astype(np.float32)
arrays['fc.bias'] = r.normal(size=5).astype(np.float32)
np.savez(sys.argv[1] + '/net.npz', **arrays)

# The same network as ONNX: Conv (same padding) -> BatchNormalization -> Sign -> MaxPool -> ... -> Flatten -> Gemm
nodes, inits, x = [], [], 'x'
for name, shape, pool in L:
    k = shape[2]; before = (k - 1) // 2; after = k - 1 - before
    nodes.append(helper.make_node('Conv', [x, name + '_w', name + '_b'], [name + '_c'], name=name, kernel_shape=[k, k], pads=[before, before, after, after]))
    nodes.append(helper.make_node('BatchNormalization', [name + '_c', name + '_g', name + '_be', name + '_m', name + '_v'], [name + '_n'], epsilon=1e-5))
    nodes.append(helper.make_node('Sign', [name + '_n'], [name + '_s']))
    x = name + '_s'
    if pool > 1:
        nodes.append(helper.make_node('MaxPool', [x], [name + '_p'], kernel_shape=[pool, pool], strides=[pool, pool])); x = name + '_p'
    for suffix, key in [('_w', '.weight'), ('_b', '.bias'), ('_g', '.bn.gamma'), ('_be', '.bn.beta'), ('_m', '.bn.mean'), ('_v', '.bn.var')]:
        inits.append(numpy_helper.from_array(arrays[name + key], name + suffix))
nodes.append(helper.make_node('Flatten', [x], ['flat']))
nodes.append(helper.make_node('Gemm', ['flat', 'fc_w', 'fc_b'], ['y'], name='fc', transB=1))
inits += [numpy_helper.from_array(arrays['fc.weight'], 'fc_w'), numpy_helper.from_array(arrays['fc.bias'], 'fc_b')]
g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, C, H, W])], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 5])], inits)
onnx.save(helper.make_model(g), sys.argv[1] + '/net.onnx')

# Inputs on the activation grid (8 fractional bits), so the fixed-point BWN layer sees exactly these values.
xs = np.round(r.normal(size=(6, C, H, W)) * 256) / 256
np.save(sys.argv[1] + '/x.npy', xs.astype(np.float32))

def conv(a, w, pad_value):
    k = w.shape[2]; before = (k - 1) // 2; after = k - 1 - before
    a = np.pad(a, ((0, 0), (before, after), (before, after)), constant_values=pad_value)
    out = np.zeros((w.shape[0], a.shape[1] - k + 1, a.shape[2] - k + 1))
    for ky in range(k):
        for kx in range(k):
            out += np.einsum('oc,chw->ohw', w[:, :, ky, kx], a[:, ky:ky + out.shape[1], kx:kx + out.shape[2]])
    return out

def xnor_net(x):
    a = x
    for i, (name, shape, pool) in enumerate(L):
        w = arrays[name + '.weight'].astype(np.float64)
        alpha = np.abs(w).reshape(w.shape[0], -1).mean(1)
        z = conv(a, np.where(w >= 0, 1.0, -1.0), 0.0 if i == 0 else 1.0) * alpha[:, None, None] + arrays[name + '.bias'][:, None, None]
        bn = {k: arrays[name + '.bn.' + k].astype(np.float64)[:, None, None] for k in ['gamma', 'beta', 'mean', 'var']}
        z = bn['gamma'] * (z - bn['mean']) / np.sqrt(bn['var'] + 1e-5) + bn['beta']
        a = np.where(z >= 0, 1.0, -1.0)
        if pool > 1:
            c, h, w_ = a.shape
            a = a[:, :h // pool * pool, :w_ // pool * pool].reshape(c, h // pool, pool, w_ // pool, pool).max((2, 4))
    w = arrays['fc.weight'].astype(np.float64)
    alpha = np.abs(w).mean(1)
    return (np.where(w >= 0, 1.0, -1.0) @ a.reshape(-1)) * alpha + arrays['fc.bias']

print(json.dumps({'x': xs.tolist(), 'y': [xnor_net(x).tolist() for x in xs]}))
`;

let ref: { x: number[][][][]; y: number[][] };

const hwgen = (...args: string[]) => runHwgen(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-conv-'));
  ref = JSON.parse(runPython(NET, [dir]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** numpy's [C, H, W] input to the hardware's channel-fastest order. */
function channelFastest(x: number[][][]): number[] {
  const [c, h, w] = [x.length, x[0].length, x[0][0].length];
  const out: number[] = [];
  for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++) out.push(x[ch][y][xx]);
  return out;
}

function checkAgainstNumpy(b: BinaryBundle): void {
  ref.x.forEach((x, n) => {
    const outs = binaryForward(b, quantizeInput(channelFastest(x), b.numeric));
    const got = Array.from(outs[outs.length - 1], (q) => q / 2 ** b.numeric.actFrac);
    const want = ref.y[n];
    const scale = Math.max(...want.map(Math.abs));
    got.forEach((g, i) => expect(Math.abs(g - want[i]), `input ${n} output ${i}: ${g} vs ${want[i]}`).toBeLessThan(0.01 * scale + 0.02));
  });
}

describe('binary convolutions from files', () => {
  it('.npz: conv (3x3 same, pool 2) -> conv (2x2 same) -> fc computes what numpy computes', () => {
    const r = hwgen('compress', 'net.npz', '-o', 'npz.hwb', '--binary', '--input-shape', '3,8,8');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const b = readAnyBundle(join(dir, 'npz.hwb'));
    if (b.engine !== 'xnor') throw new Error('expected a binary bundle');
    expect(b.layers.map((l) => [l.name, l.conv?.inHeight ?? null, l.conv?.inChannels ?? null, l.pool])).toEqual([
      ['c1', 8, 3, 2], ['c2', 4, 6, 1], ['fc', null, null, 1],
    ]);
    checkAgainstNumpy(b);
  });

  it('.onnx: the same network from Conv/BatchNormalization/Sign/MaxPool/Flatten/Gemm nodes gives the same bundle', () => {
    expect(hwgen('compress', 'net.onnx', '-o', 'onnx.hwb', '--binary', '--input-shape', '3,8,8').code).toBe(0);
    const a = readFileSync(join(dir, 'npz.hwb'));
    const b = readAnyBundle(join(dir, 'onnx.hwb'));
    const npz = readAnyBundle(join(dir, 'npz.hwb'));
    // names and provenance differ; every number must not
    b.meta = npz.meta;
    b.layers.forEach((l, i) => (l.name = npz.layers[i].name));
    expect(Buffer.from(encodeBundle(b)).equals(a)).toBe(true);
  });

  it('hwgen sim runs it on the XNOR units from [n, C, H, W] images, bit-exact with the golden model', () => {
    const r = hwgen('sim', 'npz.hwb', '--input', 'x.npy', '-o', 'y.npy', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.engine).toBe('XNOR');
    expect(report.golden.match).toBe(true);
    const y: number[][] = JSON.parse(runPython(`import numpy as np, sys, json\nprint(json.dumps(np.load(sys.argv[1]).tolist()))`, [join(dir, 'y.npy')]));
    y.forEach((row, n) => {
      const scale = Math.max(...ref.y[n].map(Math.abs));
      row.forEach((v, i) => expect(Math.abs(v - ref.y[n][i])).toBeLessThan(0.01 * scale + 0.02));
    });
  }, 300_000); // builds the shell and the XNOR units under Verilator

  it('refuses a conv model without --input-shape, and a conv for the EIE engine', () => {
    const a = hwgen('compress', 'net.npz', '-o', 'x.hwb', '--binary');
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/the first layer 'c1' is a convolution; give the input's size with --input-shape C,H,W/);
    const b = hwgen('compress', 'net.npz', '-o', 'x.hwb');
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/batch-norm|convolution/);
    const c = hwgen('compress', 'net.npz', '-o', 'x.hwb', '--binary', '--input-shape', '3,10,8');
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/layer 'fc' takes 128 inputs but the 8x5x4 feature map before it gives 160/);
    const d = hwgen('compress', 'net.npz', '-o', 'x.hwb', '--binary', '--input-shape', '4,8,8');
    expect(d.err).toMatch(/layer 'c1' takes 3 channels but gets 4/);
  });
});

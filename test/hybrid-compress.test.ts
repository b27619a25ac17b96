/**
 * Hybrid bundles from real files: a small CNN written by numpy (.npz) and by the onnx library (.onnx), its
 * convolutions sent to the XNOR units with --binary c1,c2 and its FC layers down the Deep Compression path. The
 * network's golden model must compute what numpy computes for the float network (XNOR-Net convolutions, PyTorch's
 * (c, y, x) flattening, float FC layers on the ±1 of the bits), the fold of the bits into the first FC layer must
 * give bit for bit what the unfolded layer gives on ±1, and inspect, export and report must show both segments.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flattenOrder, outputMap } from '../src/compress/binarize.js';
import { bundleForward, quantizeInput } from '../src/golden/eie.js';
import { engineFor } from '../src/engines/registry.js';
import { encodeNetwork, readAnyBundle, readNetwork } from '../src/model/bundle.js';
import { decodeDenseCodes } from '../src/model/layout.js';
import type { BinaryBundle, Bundle, Network } from '../src/model/types.js';
import { networkForward } from '../src/network/forward.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { runHwgen } from './helpers/cli.js';
import { runPython } from './helpers/python.js';

let dir: string;

const NET = `
import numpy as np, sys, json, onnx
from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(5)
C, H, W = 3, 8, 8
L = [('c1', (6, 3, 3, 3), 2), ('c2', (8, 6, 2, 2), 1)]
F = [('fc1', (20, 8 * 4 * 4), True), ('fc2', (5, 20), False)]
arrays = {}
for name, shape, pool in L:
    arrays[name + '.weight'] = r.normal(size=shape).astype(np.float32)
    arrays[name + '.bias'] = (r.normal(size=shape[0]) * 0.5).astype(np.float32)
    for k, v in [('gamma', r.normal(size=shape[0])), ('beta', r.normal(size=shape[0])), ('mean', r.normal(size=shape[0]) * 2), ('var', r.uniform(0.5, 2, shape[0]))]:
        arrays[name + '.bn.' + k] = v.astype(np.float32)
    if pool > 1: arrays[name + '.pool'] = np.array(pool, np.int64)
for name, shape, relu in F:
    arrays[name + '.weight'] = (r.normal(size=shape) / np.sqrt(shape[1])).astype(np.float32)
    arrays[name + '.bias'] = (r.normal(size=shape[0]) * 0.3).astype(np.float32)
np.savez(sys.argv[1] + '/net.npz', **arrays)
# the FC layers alone, for refusals that need no convolution
np.savez(sys.argv[1] + '/mlp.npz', **{k: v for k, v in arrays.items() if k.startswith('fc')})

# The same network as ONNX: Conv -> BatchNormalization -> Sign -> MaxPool -> ... -> Flatten -> Gemm -> Relu -> Gemm
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
nodes.append(helper.make_node('Flatten', [x], ['flat'])); x = 'flat'
for name, shape, relu in F:
    nodes.append(helper.make_node('Gemm', [x, name + '_w', name + '_b'], [name + '_y'], name=name, transB=1)); x = name + '_y'
    if relu:
        nodes.append(helper.make_node('Relu', [x], [name + '_r'])); x = name + '_r'
    inits += [numpy_helper.from_array(arrays[name + '.weight'], name + '_w'), numpy_helper.from_array(arrays[name + '.bias'], name + '_b')]
g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, C, H, W])], [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 5])], inits)
onnx.save(helper.make_model(g), sys.argv[1] + '/net.onnx')

# Inputs on the activation grid (8 fractional bits), so the fixed-point BWN layer sees exactly these values.
xs = np.round(r.normal(size=(8, C, H, W)) * 256) / 256

def conv(a, w, pad_value):
    k = w.shape[2]; before = (k - 1) // 2; after = k - 1 - before
    a = np.pad(a, ((0, 0), (before, after), (before, after)), constant_values=pad_value)
    out = np.zeros((w.shape[0], a.shape[1] - k + 1, a.shape[2] - k + 1))
    for ky in range(k):
        for kx in range(k):
            out += np.einsum('oc,chw->ohw', w[:, :, ky, kx], a[:, ky:ky + out.shape[1], kx:kx + out.shape[2]])
    return out

def net(x):
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
    y = a.reshape(-1)  # PyTorch's flatten: (c, y, x)
    for name, shape, relu in F:
        y = arrays[name + '.weight'].astype(np.float64) @ y + arrays[name + '.bias']
        if relu: y = np.maximum(y, 0)
    return y

print(json.dumps({'x': xs.tolist(), 'y': [net(x).tolist() for x in xs], 'fc1': arrays['fc1.weight'].astype(np.float64).tolist()}))
`;

let ref: { x: number[][][][]; y: number[][]; fc1: number[][] };

const hwgen = (...args: string[]) => runHwgen(dir, args);
const HYBRID = ['--binary', 'c1,c2', '--input-shape', '3,8,8', '--bits', '6', '--v-bits', '6'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-hybrid-'));
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

function segmentsOf(net: Network): [BinaryBundle, Bundle] {
  const [x, e] = net.segments;
  if (net.segments.length !== 2 || x.engine !== 'xnor' || e.engine !== 'eie') throw new Error(`expected XNOR → EIE, got ${net.segments.map((s) => s.engine).join(' → ')}`);
  return [x, e];
}

/** The first EIE layer as it was before the fold: codebook q = folded / 2, bias B = folded + Σ q·1.0; it takes ±1.0. */
function unfolded(e: Bundle): Bundle {
  const first = e.layers[0];
  const q = first.codebook.map((v) => v / 2);
  const w = decodeDenseCodes({ ...first, codebook: q });
  const one = 2 ** e.numeric.actFrac;
  const bias = first.bias.map((b, i) => b + w.subarray(i * first.cols, (i + 1) * first.cols).reduce((a, x) => a + x * one, 0));
  return { ...e, layers: [{ ...first, codebook: q, bias }, ...e.layers.slice(1)] };
}

describe('hwgen compress --binary NAMES: a hybrid bundle', () => {
  it('.npz: c1, c2 on the XNOR units and fc1, fc2 on the EIE engine compute what numpy computes for the float network', () => {
    const r = hwgen('compress', 'net.npz', '-o', 'h.hwb', ...HYBRID);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^segment 0: 2 binary layer\(s\) \(XNOR units\)\n/);
    expect(r.out).toMatch(/\nsegment 1: EIE engine, 2 layer\(s\), 16 PEs/);
    expect(r.out).toMatch(/EIE layers against their float layers on 16 random bit maps \(±1\): output error [\d.]+% RMS/);
    const net = readNetwork(join(dir, 'h.hwb'));
    const [x, e] = segmentsOf(net);
    expect(x.layers.map((l) => [l.name, l.input, l.output, l.pool])).toEqual([['c1', 'fixed', 'threshold', 2], ['c2', 'binary', 'threshold', 1]]);
    expect(e.layers.map((l) => [l.name, l.rows, l.cols, l.relu])).toEqual([['fc1', 20, 128, true], ['fc2', 5, 20, false]]);
    ref.x.forEach((input, n) => {
      const out = networkForward(net, quantizeInput(channelFastest(input), x.numeric)).at(-1)!.at(-1)!;
      const got = Array.from(out, (q) => q / 2 ** e.numeric.actFrac);
      const want = ref.y[n];
      const scale = Math.max(...want.map(Math.abs));
      got.forEach((g, i) => expect(Math.abs(g - want[i]), `input ${n} output ${i}: ${g} vs ${want[i]}`).toBeLessThan(0.03 * scale + 0.03));
    });
  });

  it('the fold: the first EIE layer on bits 0 / 1.0 gives bit for bit what the unfolded layer gives on ±1.0, its columns in the map\'s order', () => {
    const net = readNetwork(join(dir, 'h.hwb'));
    const [x, e] = segmentsOf(net);
    expect(e.layers[0].codebook.every((v) => v % 2 === 0)).toBe(true);
    const plain = unfolded(e);
    const one = 2 ** e.numeric.actFrac;
    const seen = new Set<number>();
    for (const input of ref.x) {
      const outs = networkForward(net, quantizeInput(channelFastest(input), x.numeric));
      const bits = outs[0].at(-1)!;
      bits.forEach((b) => seen.add(b));
      expect(outs[1]).toEqual(bundleForward(plain, Int32Array.from(bits, (b) => (2 * b - 1) * one)));
    }
    expect([...seen].sort()).toEqual([0, 1]);
    // The unfolded weights are fc1's, column k of the map's order (y, x, c) being numpy's column order[k] (c, y, x).
    const order = flattenOrder(outputMap(x.layers[1])!)!;
    const first = plain.layers[0];
    const w = decodeDenseCodes(first);
    const largest = Math.max(...ref.fc1.flat().map(Math.abs));
    for (let i = 0; i < first.rows; i++) {
      for (let k = 0; k < first.cols; k++) expect(Math.abs(w[i * first.cols + k] / 2 ** first.wFrac - ref.fc1[i][order[k]])).toBeLessThan(0.05 * largest);
    }
  });

  it('.onnx: the same network from Conv/BatchNormalization/Sign/MaxPool/Flatten/Gemm/Relu nodes gives the same bundle', () => {
    const r = hwgen('compress', 'net.onnx', '-o', 'onnx.hwb', ...HYBRID);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const npz = readNetwork(join(dir, 'h.hwb'));
    const onnx = readNetwork(join(dir, 'onnx.hwb'));
    // names and provenance may differ; every number must not
    onnx.segments.forEach((b, s) => {
      b.meta = npz.segments[s].meta;
      b.layers.forEach((l, i) => (l.name = npz.segments[s].layers[i].name));
    });
    expect(Buffer.from(encodeNetwork(onnx)).equals(readFileSync(join(dir, 'h.hwb')))).toBe(true);
  });

  it('--json gives a segments array: the XNOR report, then the EIE report with its fidelity', () => {
    const r = hwgen('compress', 'net.npz', '-o', 'j.hwb', ...HYBRID, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.output).toBe('j.hwb');
    expect(j.segments.map((s: { engine: string }) => s.engine)).toEqual(['xnor', 'eie']);
    expect(j.segments[0].layers.map((l: { name: string }) => l.name)).toEqual(['c1', 'c2']);
    expect(j.segments[1].layers.map((l: { name: string }) => l.name)).toEqual(['fc1', 'fc2']);
    expect(j.segments[1].fidelity.samples).toBe(16);
    expect(j.segments[1].fidelity.relativeRms).toBeLessThan(0.05);
    // deterministic: the same inputs give the same bytes
    expect(readFileSync(join(dir, 'j.hwb')).equals(readFileSync(join(dir, 'h.hwb')))).toBe(true);
  });

  it('hwgen inspect shows both segments, and --json a segments array', () => {
    const r = hwgen('inspect', 'h.hwb');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const net = readNetwork(join(dir, 'h.hwb'));
    const [x, e] = segmentsOf(net);
    expect(r.out).toBe(
      'h.hwb: valid, a hybrid network of 2 segments (XNOR → EIE)\n' +
        `segment 0: XNOR, 2 layer(s)\n${engineFor(x).report(x).text}\n\n` +
        `segment 1: EIE, 2 layer(s)\n${engineFor(e).report(e).text}\n`,
    );
    expect(r.out).toMatch(/c1 .*\n.*c2 /);
    expect(r.out).toMatch(/fc1 .*\n.*fc2 /);
    const j = JSON.parse(hwgen('inspect', 'h.hwb', '--json').out);
    expect(j.bundle).toBe('h.hwb');
    expect(j.segments.map((s: { engine: string; layers: { name: string }[] }) => [s.engine, s.layers.map((l) => l.name)])).toEqual([
      ['xnor', ['c1', 'c2']],
      ['eie', ['fc1', 'fc2']],
    ]);
  });

  it('hwgen inspect prints a one-segment bundle exactly as before', () => {
    for (const name of ['fashion-mnist-lenet.hwb', 'fashion-mnist-bmlp.hwb']) {
      const path = join(PACKAGE_ROOT, 'models', name);
      const b = readAnyBundle(path);
      const report = engineFor(b).report(b);
      expect(hwgen('inspect', path).out).toBe(`${path}: valid\n${report.text}\n`);
      expect(JSON.parse(hwgen('inspect', path, '--json').out)).toEqual(JSON.parse(JSON.stringify({ bundle: path, ...report.json })));
    }
  });

  it('hwgen export writes both segments\' arrays, which numpy reads back', () => {
    const r = hwgen('export', 'h.hwb', '-o', 'h.npz');
    expect(r.err).toBe('');
    expect(r.out).toBe('wrote h.npz (4 layer(s) in 2 segments)\n');
    const back: Record<string, number[]> = JSON.parse(
      runPython(`import numpy as np, sys, json\nz = np.load(sys.argv[1])\nprint(json.dumps({k: list(z[k].shape) for k in z.files}))`, [join(dir, 'h.npz')]),
    );
    expect(back).toEqual({
      'c1.weight': [6, 27], 'c1.threshold': [6], 'c1.flip': [6],
      'c2.weight': [8, 24], 'c2.threshold': [8], 'c2.flip': [8],
      'fc1.weight': [20, 128], 'fc1.bias': [20],
      'fc2.weight': [5, 20], 'fc2.bias': [5],
    });
  });

  it('hwgen report and compress --report draw both segments on one page', () => {
    const a = hwgen('report', 'h.hwb', '-o', 'h.html');
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const page = readFileSync(join(dir, 'h.html'), 'utf8');
    expect(page).toMatch(/Segment 0: XNOR units, 2 binary layer\(s\)/);
    expect(page).toMatch(/Segment 1: EIE engine, 2 layer\(s\) over 16 PEs/);
    for (const id of ['segment-0-compression', 'segment-0-layer-1', 'segment-1-compression', 'segment-1-layer-1']) expect(page).toContain(`id="${id}"`);
    const ids = [...page.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    const b = hwgen('compress', 'net.npz', '-o', 'r.hwb', ...HYBRID, '--report', 'r.html');
    expect(b.code).toBe(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toMatch(/Pruned weights before sharing/);
    const c = hwgen('report', 'h.hwb', '-o', 'sim.html', '--sim', 'none.json');
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--sim: h.hwb is a hybrid network of 2 segments/);
    expect(existsSync(join(dir, 'sim.html'))).toBe(false);
  }, 120_000);

  it.each([
    ['a convolution left for the EIE engine', ['--binary', 'c1', '--input-shape', '3,8,8'], /layer 'c2' is a convolution, which only the XNOR units run; name it in --binary/],
    ['a sparse layer before a binary one', ['--binary', 'c1,c2,fc2', '--input-shape', '3,8,8'], /layer 'fc2' is binary \(--binary\) but comes after layer 'fc1', which goes to the EIE engine/],
    ['shapes that do not chain', ['--binary', 'c1,c2', '--input-shape', '3,10,8'], /layer 'fc1' takes 128 inputs but the 8x5x4 feature map before it gives 160/],
    ['a name that is no layer', ['--binary', 'c1,c9', '--input-shape', '3,8,8'], /--binary c1,c9: no layer named 'c9'; the layers of net.npz are c1, c2, fc1, fc2/],
    ['every layer named', ['--binary', 'c1,c2,fc1,fc2', '--input-shape', '3,8,8'], /a hybrid network needs binary layers and EIE layers; name some but not all of c1, c2, fc1, fc2 \(--binary alone makes every layer binary\)/],
    ['a density for a binary layer', [...HYBRID, '--density', 'c1=0.5,fc1=0.5,fc2=0.5'], /--density: layer 'c1' is binary \(--binary\)/],
    ['--last-layer with names', [...HYBRID, '--last-layer', 'scores'], /--last-layer has no effect with --binary NAMES/],
  ])('refuses %s, naming the layer, and writes nothing', (_what, args, message) => {
    const r = hwgen('compress', 'net.npz', '-o', 'bad.hwb', ...args);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'bad.hwb'))).toBe(false);
  });

  it('refuses an MLP whose named binary layer is not the first', () => {
    const r = hwgen('compress', 'mlp.npz', '-o', 'bad.hwb', '--binary', 'fc2');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/layer 'fc2' is binary \(--binary\) but comes after layer 'fc1'/);
    expect(existsSync(join(dir, 'bad.hwb'))).toBe(false);
  });

  it('an MLP: fc1 binary (BWN), fc2 on the EIE engine, no flatten to reorder', () => {
    const r = hwgen('compress', 'mlp.npz', '-o', 'm.hwb', '--binary', 'fc1');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const [x, e] = segmentsOf(readNetwork(join(dir, 'm.hwb')));
    expect(x.layers.map((l) => l.name)).toEqual(['fc1']);
    expect(e.layers.map((l) => [l.name, l.cols, l.relu])).toEqual([['fc2', 20, false]]);
  });
});

/**
 * Fuzzing the weight-file readers: random bytes and mutations of real numpy/onnx files must either parse or throw
 * HwgenError, quickly. Cases are derived from HWGEN_FUZZ_SEED (default below) and the case number, so a failure
 * report names exactly what to rerun.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { HwgenError } from '../src/errors.js';
import type { NdArray } from '../src/model/ndarray.js';
import { encodeNpy, parseNpy } from '../src/model/npy.js';
import { encodeNpz, parseNpz } from '../src/model/npz.js';
import { fcLayersFromOnnx, parseOnnxGraph } from '../src/model/onnx.js';
import { runPython } from './helpers/python.js';
import { rng as mulberry32 } from './helpers/random.js';

const SEED = Number(process.env.HWGEN_FUZZ_SEED ?? 0x5eed2024);
/** One call slower than this counts as a hang. */
const SLOW_MS = 2000;

/** Small real files, written in memory by numpy and onnx. */
const WRITE_SEEDS = String.raw`
import base64, io, json
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
rng = np.random.default_rng(3)
out = {}
def npy(name, a):
    b = io.BytesIO(); np.save(b, a); out[name] = b.getvalue()
npy('npy_f4', rng.standard_normal((3, 4)).astype('<f4'))
npy('npy_i8_F_be', np.asfortranarray(rng.integers(-9, 9, (2, 3)).astype('>i8')))
npy('npy_b1', rng.integers(0, 2, 5).astype(bool))
npy('npy_0d', np.array(1.5))
npy('npy_empty', np.zeros((0, 2), dtype='<u2'))
arrays = dict(a=rng.standard_normal((4, 3)).astype('<f4'), b=np.arange(3, dtype='>i2'), c=np.array(True))
b = io.BytesIO(); np.savez(b, **arrays); out['npz_stored'] = b.getvalue()
b = io.BytesIO(); np.savez_compressed(b, **arrays); out['npz_deflate'] = b.getvalue()
mk = helper.make_node
W1, b1, W2, b2 = [rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (4,), (4, 2), (2,)]]
nodes = [mk('Flatten', ['x'], ['xf']), mk('Gemm', ['xf', 'W1', 'b1'], ['h'], name='fc1', transB=1), mk('Relu', ['h'], ['a']),
         mk('MatMul', ['a', 'W2'], ['m']), mk('Add', ['m', 'b2'], ['y'])]
inits = [numpy_helper.from_array(W1, 'W1'), numpy_helper.from_array(b1, 'b1'),
         helper.make_tensor('W2', TensorProto.FLOAT, [4, 2], W2.flatten().tolist()), numpy_helper.from_array(b2, 'b2')]
g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 3])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 2])], initializer=inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
onnx.checker.check_model(m)
out['onnx_mlp'] = m.SerializeToString()
print(json.dumps({k: base64.b64encode(v).decode() for k, v in out.items()}))
`;

type Rnd = () => number;
const int = (rnd: Rnd, n: number): number => Math.floor(rnd() * n);
const randomBytes = (rnd: Rnd, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(rnd, 256));

const HEADER_EDITS: [string, string][] = [
  ['False', 'True'], ["'<f4'", "'>f8'"], ["'<f4'", "'|O'"], ["'<f4'", "'<c8'"], ["'descr'", "'desc'"], ['(3, 4)', '(99999999999, 4)'],
  ['(3, 4)', '(3, 4, 0)'], ['(3, 4)', '()'], ['(3, 4)', '[3, 4]'], ['}', ''], ["'shape'", "'shape': (1,), 'x'"], ['(5,)', '(5)'],
  ['(2, 3)', '(3, 2)'], ["'|b1'", "'<b1'"], ['(0, 2)', '(2, 0)'],
];
const MAGICS = ['\x93NUMPY\x01\x00', '\x93NUMPY\x02\x00', '\x93NUMPY\x03\x00', 'PK\x03\x04', 'PK\x05\x06', '\x08\x07\x12\x00\x3a'];
const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** Applies one random mutation; returns the new bytes and a short description. */
function mutate(src: Uint8Array, rnd: Rnd): { bytes: Uint8Array; what: string } {
  const b = Uint8Array.from(src);
  const pos = int(rnd, Math.max(1, b.length));
  switch (int(rnd, 8)) {
    case 0: {
      const n = 1 + int(rnd, 8);
      for (let i = 0; i < n; i++) b[int(rnd, b.length)] ^= 1 << int(rnd, 8);
      return { bytes: b, what: `flip ${n} bits` };
    }
    case 1:
      return { bytes: b.subarray(0, pos), what: `truncate to ${pos}` };
    case 2: {
      const ins = randomBytes(rnd, 1 + int(rnd, 16));
      return { bytes: Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]), what: `insert ${ins.length} at ${pos}` };
    }
    case 3: {
      const n = 1 + int(rnd, 16);
      return { bytes: Buffer.concat([b.subarray(0, pos), b.subarray(pos + n)]), what: `delete ${n} at ${pos}` };
    }
    case 4: {
      const v = INTERESTING32[int(rnd, INTERESTING32.length)];
      if (pos + 4 <= b.length) new DataView(b.buffer).setUint32(pos, v, true);
      return { bytes: b, what: `u32 ${v} at ${pos}` };
    }
    case 5: {
      const [from, to] = HEADER_EDITS[int(rnd, HEADER_EDITS.length)];
      const text = Buffer.from(b).toString('latin1');
      const at = text.indexOf(from);
      if (at < 0) return { bytes: b, what: 'header edit (no match)' };
      return { bytes: Buffer.from(text.slice(0, at) + to + text.slice(at + from.length), 'latin1'), what: `header ${from} -> ${to}` };
    }
    case 6: {
      const n = 1 + int(rnd, 4);
      for (let i = 0; i < n; i++) b[int(rnd, Math.min(b.length, 96))] = int(rnd, 256);
      return { bytes: b, what: `${n} random bytes in the first 96` };
    }
    default: {
      const start = int(rnd, b.length);
      b.copyWithin(start, int(rnd, b.length), int(rnd, b.length));
      return { bytes: b, what: `copyWithin at ${start}` };
    }
  }
}

/** Case i: random bytes (optionally behind a magic), or 1-3 stacked mutations of a seed file. */
function makeCase(seeds: Uint8Array[], i: number): { bytes: Uint8Array; what: string } {
  const rnd = mulberry32(SEED ^ Math.imul(i + 1, 0x9e3779b1));
  const kind = rnd();
  if (kind < 0.1) return { bytes: randomBytes(rnd, int(rnd, 300)), what: 'random bytes' };
  if (kind < 0.2) {
    const magic = Buffer.from(MAGICS[int(rnd, MAGICS.length)], 'latin1');
    return { bytes: Buffer.concat([magic, randomBytes(rnd, int(rnd, 300))]), what: `magic ${JSON.stringify(magic.toString('latin1'))} + random` };
  }
  const s = int(rnd, seeds.length);
  let bytes = seeds[s];
  const whats = [`seed ${s}`];
  for (let k = 1 + int(rnd, 3); k > 0; k--) {
    const m = mutate(bytes, rnd);
    bytes = m.bytes;
    whats.push(m.what);
  }
  return { bytes, what: whats.join(', ') };
}

/** Runs `n` cases; returns descriptions of the ones that threw something other than HwgenError, or hung. */
function fuzz(seeds: Uint8Array[], n: number, read: (b: Uint8Array) => void, offset: number): string[] {
  const failures: string[] = [];
  for (let i = offset; i < offset + n; i++) {
    const { bytes, what } = makeCase(seeds, i);
    const t0 = performance.now();
    try {
      read(bytes);
    } catch (e) {
      if (!(e instanceof HwgenError)) failures.push(`case ${i} (${what}): ${(e as Error)?.stack ?? String(e)}`);
    }
    const ms = performance.now() - t0;
    if (ms > SLOW_MS) failures.push(`case ${i} (${what}): took ${ms.toFixed(0)} ms`);
  }
  return failures;
}

const same = (a: NdArray, b: NdArray): boolean =>
  a.dtype === b.dtype && a.shape.join() === b.shape.join() &&
  Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

let seeds: Record<string, Uint8Array>;
const seedsOf = (prefix: string): Uint8Array[] =>
  Object.entries(seeds).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
beforeAll(() => {
  const json = JSON.parse(runPython(WRITE_SEEDS)) as Record<string, string>;
  seeds = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
  const arrays = [parseNpy(seeds.npy_f4, 'seed'), parseNpy(seeds.npy_b1, 'seed')];
  seeds.npz_ours = encodeNpz(arrays.map((array, i) => ({ name: `x${i}`, array })), { compress: true });
  seeds.npy_ours = encodeNpy(arrays[0]);
});

describe(`reader fuzzing (HWGEN_FUZZ_SEED=${SEED})`, () => {
  it('parseNpy returns an array or throws HwgenError', () => {
    const npy = seedsOf('npy');
    expect(npy.length).toBe(6);
    const failures = fuzz(npy, 1500, (b) => {
      const a = parseNpy(b, 'fuzz.npy');
      // Whatever parses must survive a round trip unchanged.
      if (!same(a, parseNpy(encodeNpy(a), 'again'))) throw new Error('round trip changed the array');
    }, 0);
    expect(failures.slice(0, 5)).toEqual([]);
  }, 20_000);

  it('parseNpz returns arrays or throws HwgenError', () => {
    const npz = seedsOf('npz');
    expect(npz.length).toBe(3);
    expect(fuzz(npz, 1200, (b) => parseNpz(b, 'fuzz.npz'), 100_000).slice(0, 5)).toEqual([]);
  }, 20_000);

  it('parseOnnxGraph and fcLayersFromOnnx return results or throw HwgenError', () => {
    const onnx = seedsOf('onnx');
    expect(fcLayersFromOnnx(parseOnnxGraph(onnx[0], 'seed'), 'seed').length).toBe(2);
    const failures = fuzz(onnx, 1500, (b) => fcLayersFromOnnx(parseOnnxGraph(b, 'fuzz.onnx'), 'fuzz.onnx'), 200_000);
    expect(failures.slice(0, 5)).toEqual([]);
  }, 20_000);
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HwgenError } from '../errors.js';
import { runPython } from '../../test/helpers/python.js';
import { sizeOf, type DType, type NdArray } from './ndarray.js';
import { encodeNpy, itemSize, parseNpy, typedFromLittleEndian } from './npy.js';
import { rng as mulberry32 } from '../../test/helpers/random.js';
import { expectHwgenError } from '../../test/helpers/errors.js';

const DTYPES: DType[] = ['f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1'];

/** numpy writes each case, plus a C-order little-endian copy and that copy's raw bytes. */
const WRITE_CASES = String.raw`
import json, os, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(1234)
cases = []

def values(code, n):
    if code == 'b1':
        return rng.integers(0, 2, n).astype(bool)
    if code[0] == 'f':
        v = rng.standard_normal(n).astype(code)
        fi = np.finfo(code)
        special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, fi.max, fi.tiny, fi.smallest_subnormal], dtype=code)
        k = min(n, len(special))
        v[:k] = special[:k]
        return v
    ii = np.iinfo(code)
    v = rng.integers(ii.min, ii.max, n, dtype=code, endpoint=True)
    v[0], v[-1] = ii.min, ii.max
    return v

def add(name, a, version=None):
    path = os.path.join(d, name + '.npy')
    if version is None:
        np.save(path, a)
    else:
        with open(path, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
    canon = a.astype(a.dtype.newbyteorder('<'), order='C')  # (ascontiguousarray would make 0-d arrays 1-d)
    cpath = os.path.join(d, name + '.canon.npy')
    np.save(cpath, canon)
    cases.append(dict(name=name, file=path, canon=cpath, dtype=canon.dtype.str[1:], shape=list(a.shape),
                      hex=canon.tobytes().hex()))

for code in ['f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1']:
    for order in (['<', '>'] if np.dtype(code).itemsize > 1 else ['|']):
        dt = np.dtype(code).newbyteorder(order) if order != '|' else np.dtype(code)
        tag = code + ('be' if order == '>' else 'le')
        add(tag + '_1d', values(code, 7).astype(dt))
        add(tag + '_3d', values(code, 24).astype(dt).reshape(2, 3, 4))
        add(tag + '_3d_F', np.asfortranarray(values(code, 24).astype(dt).reshape(2, 3, 4)))
        add(tag + '_2d_F', np.asfortranarray(values(code, 15).astype(dt).reshape(3, 5)))
        add(tag + '_0d', np.array(values(code, 1)[0], dtype=dt))
        add(tag + '_empty', np.zeros((0,), dtype=dt))
        add(tag + '_empty2d', np.zeros((3, 0), dtype=dt))
add('f4_v2', values('f4', 6).reshape(2, 3), version=(2, 0))
add('f4_v3', values('f4', 6).reshape(2, 3), version=(3, 0))
add('i8be_v2_F', np.asfortranarray(values('i8', 6).astype('>i8').reshape(2, 3)), version=(2, 0))
print(json.dumps(cases))
`;

/** numpy loads each file, reports what it got, and checks np.save would write the same bytes. */
const READ_FILES = String.raw`
import io, json, sys
import numpy as np
out = []
for p in sys.argv[1:]:
    a = np.load(p)
    b = io.BytesIO()
    np.save(b, a)
    out.append(dict(descr=a.dtype.str, shape=list(a.shape), hex=a.tobytes().hex(),
                    same=b.getvalue() == open(p, 'rb').read()))
print(json.dumps(out))
`;

/** Writes arrays numpy refuses to be read by hwgen; returns name -> path. */
const WRITE_UNSUPPORTED = String.raw`
import json, os, sys
import numpy as np
d = sys.argv[1]
arrays = {
    'object': np.array([1, 'a'], dtype=object),
    'complex': np.zeros(3, dtype='<c8'),
    'unicode': np.array(['ab', 'c']),
    'bytes': np.array([b'ab', b'c']),
    'structured': np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')]),
    'float16': np.zeros(3, dtype='<f2'),
    'datetime': np.zeros(2, dtype='<M8[D]'),
}
paths = {}
for k, a in arrays.items():
    paths[k] = os.path.join(d, k + '.npy')
    np.save(paths[k], a, allow_pickle=True)
print(json.dumps(paths))
`;

interface Case {
  name: string;
  file: string;
  canon: string;
  dtype: DType;
  shape: number[];
  hex: string;
}

const hex = (a: NdArray): string => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex');

/** A v1.0 .npy with an arbitrary header text, for malformed-header tests. */
function rawNpy(dict: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const header = Buffer.from(dict + '\n', 'latin1');
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, pre);
  out.set(data, pre + header.length);
  return out;
}

let dir: string;
let cases: Case[];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-npy-'));
  cases = JSON.parse(runPython(WRITE_CASES, [dir])) as Case[];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseNpy on files written by numpy', () => {
  it('covers every dtype, both byte orders and Fortran order', () => {
    const names = cases.map((c) => c.name);
    for (const d of DTYPES) expect(names.some((n) => n.startsWith(d))).toBe(true);
    const fortran = cases.filter((c) => c.name.includes('_F'));
    for (const c of fortran) expect(readFileSync(c.file).toString('latin1')).toContain("'fortran_order': True");
    const big = cases.filter((c) => c.name.includes('be_'));
    expect(big.length).toBeGreaterThan(0);
    for (const c of big) expect(readFileSync(c.file).toString('latin1')).toContain("'descr': '>");
    expect(readFileSync(cases.find((c) => c.name === 'f4_v3')!.file)[6]).toBe(3);
  });

  it('reads values, dtype and shape exactly', () => {
    for (const c of cases) {
      const a = parseNpy(readFileSync(c.file), c.file);
      expect({ name: c.name, dtype: a.dtype, shape: a.shape, hex: hex(a) }).toEqual({ name: c.name, dtype: c.dtype, shape: c.shape, hex: c.hex });
      expect(a.data.length).toBe(sizeOf(c.shape));
      expect(a.data.byteOffset % itemSize(a.dtype)).toBe(0);
    }
  });

  it('encodeNpy writes the bytes np.save writes for the same array', () => {
    for (const c of cases) {
      const a = parseNpy(readFileSync(c.file), c.file);
      expect(Buffer.from(encodeNpy(a)).equals(readFileSync(c.canon)), c.name).toBe(true);
    }
  });

  it('copies data that is not aligned in the input buffer', () => {
    const c = cases.find((x) => x.name === 'f8le_3d')!;
    const file = readFileSync(c.file);
    const shifted = new Uint8Array(file.length + 3).subarray(3);
    shifted.set(file);
    const a = parseNpy(shifted, c.file);
    expect(a.data.byteOffset % 8).toBe(0);
    expect(hex(a)).toBe(c.hex);
    const buffer = Buffer.from(new Uint8Array(file.length + 5).buffer, 5, file.length); // Node Buffers too
    file.copy(buffer);
    const b = parseNpy(buffer, c.file);
    expect(b.data.byteOffset % 8).toBe(0);
    expect(hex(b)).toBe(c.hex);
  });
});

describe('encodeNpy read back by numpy', () => {
  it('gives numpy the same dtype, shape and bytes', () => {
    const rnd = mulberry32(7);
    const shapes = [[5], [2, 3], [2, 1, 3], [], [0], [4, 0]];
    const arrays: NdArray[] = [];
    for (const dtype of DTYPES) {
      for (const shape of shapes) {
        const bytes = Uint8Array.from({ length: sizeOf(shape) * itemSize(dtype) }, () => Math.floor(rnd() * 256));
        arrays.push({ dtype, shape, data: typedFromLittleEndian(dtype === 'b1' ? bytes.map((b) => b & 1) : bytes, dtype) });
      }
    }
    const paths = arrays.map((a, i) => {
      const p = join(dir, `enc${i}.npy`);
      writeFileSync(p, encodeNpy(a));
      return p;
    });
    const got = JSON.parse(runPython(READ_FILES, paths)) as { descr: string; shape: number[]; hex: string; same: boolean }[];
    expect(got.length).toBe(arrays.length);
    arrays.forEach((a, i) => {
      const descr = (itemSize(a.dtype) === 1 ? '|' : '<') + a.dtype;
      expect(got[i]).toEqual({ descr, shape: a.shape, hex: hex(a), same: true });
    });
  });

  it('is deterministic and writes bool as 0/1', () => {
    const a: NdArray = { dtype: 'b1', shape: [3], data: Uint8Array.of(0, 7, 1) };
    expect(encodeNpy(a)).toEqual(encodeNpy(a));
    expect(Array.from(encodeNpy(a).slice(-3))).toEqual([0, 1, 1]);
  });

  it('rejects arrays whose data does not match dtype or shape', () => {
    expectHwgenError(() => encodeNpy({ dtype: 'f4', shape: [2], data: new Float64Array(2) }), /f4 needs a Float32Array/);
    expectHwgenError(() => encodeNpy({ dtype: 'i4', shape: [2, 2], data: new Int32Array(3) }), /4 elements but the data has 3/);
    expectHwgenError(() => encodeNpy({ dtype: 'u1', shape: [-1], data: new Uint8Array(0) }), /invalid shape/);
  });
});

describe('parseNpy errors', () => {
  it('names unsupported numpy dtypes and lists the supported ones', () => {
    const paths = JSON.parse(runPython(WRITE_UNSUPPORTED, [dir])) as Record<string, string>;
    const expected: Record<string, RegExp> = {
      object: /dtype '\|O' \(object\)/,
      complex: /dtype '<c8' \(complex\)/,
      unicode: /dtype '<U2' \(unicode string\)/,
      bytes: /dtype '\|S2' \(byte string\)/,
      structured: /structured dtype \[\('a', '<f4'\), \('b', '<i4'\)\]/,
      float16: /dtype '<f2' is not supported/,
      datetime: /dtype '<M8\[D\]' \(datetime\)/,
    };
    for (const [k, re] of Object.entries(expected)) {
      expectHwgenError(() => parseNpy(readFileSync(paths[k]), paths[k]), re);
      expectHwgenError(() => parseNpy(readFileSync(paths[k]), paths[k]), /float32 \('<f4'\).*bool \('\|b1'\)/);
    }
  });

  it('says how many bytes a truncated or overlong file has', () => {
    const c = cases.find((x) => x.name === 'f4le_3d')!;
    const file = readFileSync(c.file);
    expectHwgenError(() => parseNpy(file.subarray(0, file.length - 5), 'w.npy'), /^w\.npy: the file is truncated: .* needs 96 data bytes .* but 91 are present/);
    expectHwgenError(() => parseNpy(Buffer.concat([file, Buffer.alloc(2)]), 'w.npy'), /extra bytes.*needs 96 data bytes.*98 are present/);
    expectHwgenError(() => parseNpy(file.subarray(0, 60), 'w.npy'), /header claims 118 bytes but 50 follow/);
  });

  it('refuses absurd shapes and header lengths before allocating', () => {
    const huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (9999999999999, 9999999999999), }";
    expectHwgenError(() => parseNpy(rawNpy(huge), 'x.npy'), /needs more elements than the \d+ bytes/);
    expectHwgenError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }"), 'x.npy'), /invalid integer|too large/);
    const v2 = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4), 2);
    new DataView(v2.buffer).setUint32(8, 0xfffffff0, true);
    expectHwgenError(() => parseNpy(v2, 'x.npy'), /header claims 4294967280 bytes/);
    const deep = `{'descr': '<f4', 'fortran_order': False, 'shape': (${'1, '.repeat(65)}), }`;
    expectHwgenError(() => parseNpy(rawNpy(deep, new Uint8Array(4)), 'x.npy'), /65 dimensions/);
  });

  it('parses the header strictly', () => {
    const ok = (d: string): NdArray => parseNpy(rawNpy(d, new Uint8Array(8)), 'h.npy');
    expect(ok('{"shape": (2,), "fortran_order": False, "descr": "<f4"}').shape).toEqual([2]);
    expect(ok("{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 2L), }").shape).toEqual([1, 2]); // Python 2
    const bad: [string, RegExp][] = [
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", /exactly the keys.*unexpected: 'extra'/],
      ["{'descr': '<f4', 'shape': (2,), }", /missing: 'fortran_order'/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", /'shape' must be a tuple/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", /'shape' must be a tuple/],
      ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", /'fortran_order' must be True or False/],
      ["{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", /'=f4' \(the byte order must be given/],
      ["{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", /dtype '\|f4' is not supported/],
      ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", /'descr' appears twice/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", /unexpected text/],
      ["{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", /expected ':'|expected ','/],
      ["('descr', '<f4')", /not a dictionary/],
    ];
    for (const [d, re] of bad) expectHwgenError(() => ok(d), re);
  });

  it('rejects other files and versions', () => {
    expectHwgenError(() => parseNpy(Buffer.from('PK\x03\x04 not npy'), 'a.npy'), /^a\.npy: not a \.npy file/);
    const v4 = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }");
    v4[6] = 4;
    expectHwgenError(() => parseNpy(v4, 'a.npy'), /version 4\.0 is not supported/);
    expectHwgenError(() => parseNpy(new Uint8Array(0), 'a.npy'), /not a \.npy file/);
  });

  it('reads bool bytes other than 0/1 as true', () => {
    const a = parseNpy(rawNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", Uint8Array.of(0, 1, 2, 255)), 'b.npy');
    expect(Array.from(a.data as Uint8Array)).toEqual([0, 1, 1, 1]);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HwgenError } from '../errors.js';
import { runPython } from '../../test/helpers/python.js';
import type { DType, NdArray } from './ndarray.js';
import { itemSize, typedFromLittleEndian } from './npy.js';
import { encodeNpz, parseNpz } from './npz.js';
import { expectHwgenError } from '../../test/helpers/errors.js';

/** numpy writes stored, compressed and full-zip64 archives; reports each archive's arrays in zip order. */
const WRITE_ARCHIVES = String.raw`
import json, os, sys, zipfile
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(99)
arrays = dict(
    w=rng.standard_normal((256, 100)).astype('<f4'),
    big=np.asfortranarray(rng.integers(-2**62, 2**62, (3, 4)).astype('>i8')),
    flags=rng.integers(0, 2, 9).astype(bool),
    u16=rng.integers(0, 2**16, (2, 5)).astype('>u2'),
    scalar=np.array(2.5, dtype='<f8'),
    empty=np.zeros((0, 3), dtype='<f4'),
    **{'fc1.weight': rng.standard_normal((4, 3)).astype('<f4'), 'layer/bias': np.arange(4, dtype='|i1')},
)
positional = [np.arange(6, dtype='<u4').reshape(2, 3)]
def report(path):
    names = zipfile.ZipFile(path).namelist()
    z = np.load(path)
    assert [n[:-4] for n in names] == z.files
    return [dict(name=k, dtype=z[k].dtype.str[1:], shape=list(z[k].shape),
                 hex=z[k].astype(z[k].dtype.newbyteorder('<'), order='C').tobytes().hex()) for k in z.files]
out = {}
np.savez(os.path.join(d, 'stored.npz'), *positional, **arrays)
np.savez_compressed(os.path.join(d, 'compressed.npz'), *positional, **arrays)
np.savez(os.path.join(d, 'empty.npz'))
# Lowering zipfile's limits makes it write zip64 directory records and the zip64 end record, as for huge arrays.
limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
zipfile.ZIP64_LIMIT = 16
zipfile.ZIP_FILECOUNT_LIMIT = 1
np.savez_compressed(os.path.join(d, 'zip64.npz'), *positional, **arrays)
np.savez(os.path.join(d, 'zip64stored.npz'), *positional, **arrays)
zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits
for k in ['stored', 'compressed', 'empty', 'zip64', 'zip64stored']:
    out[k] = report(os.path.join(d, k + '.npz'))
with zipfile.ZipFile(os.path.join(d, 'text.npz'), 'w') as z:
    z.writestr('a.npy', open(os.path.join(d, 'stored.npz'), 'rb').read()[:0])
    z.writestr('readme.txt', 'hello')
import warnings
warnings.simplefilter('ignore')
with zipfile.ZipFile(os.path.join(d, 'dup.npz'), 'w') as z:
    for _ in range(2):
        with z.open('x.npy', 'w') as f:
            np.save(f, np.zeros(2))
print(json.dumps(out))
`;

/** numpy loads archives written by encodeNpz; zipfile checks CRCs and reports timestamps and methods. */
const READ_ARCHIVE = String.raw`
import json, sys, zipfile
import numpy as np
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
info = [dict(date=list(i.date_time), method=i.compress_type) for i in z.infolist()]
a = np.load(sys.argv[1])
arrays = [dict(name=k, descr=a[k].dtype.str, shape=list(a[k].shape), hex=a[k].tobytes().hex()) for k in a.files]
print(json.dumps(dict(info=info, arrays=arrays)))
`;

interface Reported {
  name: string;
  dtype: DType;
  shape: number[];
  hex: string;
}

const hex = (a: NdArray): string => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex');
const summary = (entries: { name: string; array: NdArray }[]): Reported[] =>
  entries.map((e) => ({ name: e.name, dtype: e.array.dtype, shape: e.array.shape, hex: hex(e.array) }));

/** Offset of the first central-directory record. */
const firstCdr = (buf: Buffer): number => buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));

let dir: string;
let reported: Record<string, Reported[]>;
const file = (name: string): Buffer => readFileSync(join(dir, name));
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-npz-'));
  reported = JSON.parse(runPython(WRITE_ARCHIVES, [dir])) as Record<string, Reported[]>;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseNpz on archives written by numpy', () => {
  for (const kind of ['stored', 'compressed', 'zip64', 'zip64stored', 'empty']) {
    it(`reads ${kind} archives exactly, in archive order`, () => {
      const got = summary(parseNpz(file(`${kind}.npz`), `${kind}.npz`));
      expect(got).toEqual(reported[kind]);
      if (kind !== 'empty') expect(got.length).toBe(9);
    });
  }

  it('zip64 archives really carry zip64 records', () => {
    const z = file('zip64.npz');
    expect(z.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // zip64 end of central directory
    expect(z.readUInt32LE(firstCdr(z) + 24)).toBe(0xffffffff); // sizes moved to the zip64 extra field
  });
});

describe('parseNpz on damaged archives', () => {
  it('detects a CRC mismatch in stored data', () => {
    const z = Buffer.from(file('stored.npz'));
    const second = z.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
    z[second - 1] ^= 0x01; // last data byte of the first entry
    const first = reported.stored[0].name;
    expectHwgenError(() => parseNpz(z, 's.npz'), new RegExp(`^s\\.npz: array '${first}\\.npy': CRC-32 mismatch`));
  });

  it('rejects every truncation', () => {
    for (const kind of ['stored', 'compressed', 'zip64']) {
      const z = file(`${kind}.npz`);
      for (let i = 0; i < 200; i++) expectHwgenError(() => parseNpz(z.subarray(0, Math.floor((i * z.length) / 200)), 't.npz'), /^t\.npz: /);
    }
  });

  it('rejects absurd declared sizes without allocating them', () => {
    const z = Buffer.from(file('compressed.npz'));
    z.writeUInt32LE(0xfffffff0, firstCdr(z) + 24);
    expectHwgenError(() => parseNpz(z, 'b.npz'), /declares 4294967280 bytes from \d+ compressed/);
    const z64 = Buffer.from(file('zip64.npz'));
    const at = firstCdr(z64);
    const extra = at + 46 + z64.readUInt16LE(at + 28);
    expect(z64.readUInt16LE(extra)).toBe(1);
    z64.writeUInt32LE(0x100, extra + 8); // uncompressed size + 2^40
    const declared = Number(z64.readBigUInt64LE(extra + 4));
    expect(declared).toBeGreaterThan(2 ** 40);
    expectHwgenError(() => parseNpz(z64, 'b.npz'), new RegExp(`declares ${declared} bytes`));
  });

  it('rejects entries that are not arrays, repeated names and non-zip files', () => {
    expectHwgenError(() => parseNpz(file('text.npz'), 'x.npz'), /entry 'readme\.txt' is not a \.npy array/);
    expectHwgenError(() => parseNpz(file('dup.npz'), 'x.npz'), /entry 'x\.npy' appears twice/);
    expectHwgenError(() => parseNpz(Buffer.from('hello world, this is not a zip file'), 'x.npz'), /no end-of-central-directory/);
  });

  it('names the array when an entry is not a valid .npy', () => {
    const z = Buffer.from(file('stored.npz'));
    const npy = z.indexOf(Buffer.from('\x93NUMPY', 'latin1'));
    z[npy + 6] = 9; // version 9.0, CRC fixed below so only the npy layer objects
    const cd = firstCdr(z);
    z.writeUInt32LE(crc(z.subarray(npy, z.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4))), cd + 16);
    const first = reported.stored[0].name;
    expectHwgenError(() => parseNpz(z, 'v.npz'), new RegExp(`^v\\.npz \\(array '${first}\\.npy'\\): \\.npy format version 9\\.0`));
  });
});

describe('encodeNpz read back by numpy', () => {
  const arrays = (): { name: string; array: NdArray }[] => {
    const mk = (dtype: DType, shape: number[], seed: number): NdArray => {
      const n = shape.reduce((a, b) => a * b, 1) * itemSize(dtype);
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + ((i * i) >> 3)) & (dtype === 'b1' ? 1 : 255));
      return { dtype, shape, data: typedFromLittleEndian(bytes, dtype) };
    };
    return [
      { name: 'fc2.weight', array: mk('f4', [30, 20], 1) },
      { name: 'fc2.bias', array: mk('f8', [30], 2) },
      { name: 'arr_0', array: mk('i8', [2, 2], 3) },
      { name: 'mask', array: mk('b1', [7], 4) },
      { name: 'scalar', array: mk('u2', [], 5) },
      { name: 'empty', array: mk('i4', [0, 4], 6) },
      { name: 'dir/name', array: mk('u8', [3], 7) },
    ];
  };

  for (const compress of [false, true]) {
    it(`writes ${compress ? 'compressed' : 'stored'} archives numpy reads exactly`, () => {
      const input = arrays();
      const path = join(dir, `enc-${compress}.npz`);
      writeFileSync(path, encodeNpz(input, { compress }));
      const got = JSON.parse(runPython(READ_ARCHIVE, [path])) as {
        info: { date: number[]; method: number }[];
        arrays: { name: string; descr: string; shape: number[]; hex: string }[];
      };
      expect(got.info).toEqual(input.map(() => ({ date: [1980, 1, 1, 0, 0, 0], method: compress ? 8 : 0 })));
      expect(got.arrays).toEqual(
        input.map(({ name, array }) => ({
          name,
          descr: (itemSize(array.dtype) === 1 ? '|' : '<') + array.dtype,
          shape: array.shape,
          hex: hex(array),
        })),
      );
      expect(summary(parseNpz(readFileSync(path), path))).toEqual(summary(input));
    });
  }

  it('is byte-identical across time zones', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Asia/Tokyo';
      const a = encodeNpz(arrays(), { compress: true });
      process.env.TZ = 'America/Los_Angeles';
      const b = encodeNpz(arrays(), { compress: true });
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('rejects repeated or empty names', () => {
    const a: NdArray = { dtype: 'f4', shape: [1], data: new Float32Array(1) };
    expectHwgenError(() => encodeNpz([{ name: 'x', array: a }, { name: 'x', array: a }]), /'x' is empty or repeated/);
    expectHwgenError(() => encodeNpz([{ name: '', array: a }]), /'' is empty or repeated/);
    expectHwgenError(() => encodeNpz([{ name: 'y', array: { ...a, shape: [2] } }]), /array 'y'.*2 elements but the data has 1/);
  });
});

/** Independent CRC-32 (bitwise), for re-sealing a deliberately edited entry. */
function crc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

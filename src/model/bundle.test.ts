import { existsSync, fsyncSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HwgenError } from '../errors.js';
import { HWGEN_VERSION } from '../paths.js';
import { packBits } from './layout.js';
import { decodeAnyBundle, decodeBundle, encodeBundle, readBundle, writeBundle } from './bundle.js';
import type { BinaryBundle, Bundle, EieLayer, NumericFormat, PeSlice, SparseFormat, XnorLayer } from './types.js';
import { rng as prng, randInt } from '../../test/helpers/random.js';
import { toSlices } from '../../test/helpers/csc-reference.js';

// Lets one test make fsync fail; every other call goes to the real node:fs.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, fsyncSync: vi.fn(actual.fsyncSync) };
});

// ───────────── a small generator of valid bundles ─────────────

/** A random signed `bits`-bit integer, with the extremes likelier than chance. */
function randSigned(rnd: () => number, bits: number): number {
  const max = 2 ** (bits - 1) - 1;
  const r = rnd();
  if (r < 0.05) return -max - 1;
  if (r < 0.1) return max;
  return randInt(rnd, -max - 1, max);
}

function randomCodes(rnd: () => number, rows: number, cols: number, bits: number, density: number): Uint8Array {
  return Uint8Array.from({ length: rows * cols }, () => (rnd() < density ? randInt(rnd, 1, 2 ** bits - 1) : 0));
}

function makeLayer(
  rnd: () => number,
  name: string,
  rows: number,
  cols: number,
  bits: number,
  codes: Uint8Array,
  numeric: NumericFormat,
  sparse: SparseFormat,
): EieLayer {
  const codebook = Int32Array.from({ length: 2 ** bits }, (_, i) => (i === 0 ? 0 : randSigned(rnd, numeric.weightBits)));
  return {
    kind: 'eie',
    name,
    rows,
    cols,
    bits,
    codebook,
    wFrac: randInt(rnd, 0, 31),
    bias: Float64Array.from({ length: rows }, () => randSigned(rnd, numeric.accBits)),
    relu: rnd() < 0.5,
    slices: toSlices(codes, rows, cols, sparse.pes, sparse.zBits),
  };
}

function randomBundle(seed: number): Bundle {
  const rnd = prng(seed);
  const actBits = randInt(rnd, 2, 32);
  const weightBits = randInt(rnd, 2, Math.min(32, 48 - actBits));
  // the accumulator holds at least one product (limits.ts)
  const numeric = { actBits, actFrac: randInt(rnd, 0, actBits - 1), weightBits, accBits: randInt(rnd, actBits + weightBits, 48) };
  const sparse = { pes: rnd() < 0.1 ? 64 : randInt(rnd, 1, 8), vBits: randInt(rnd, 1, 8), zBits: rnd() < 0.5 ? randInt(rnd, 1, 2) : randInt(rnd, 1, 8) };
  const dims = Array.from({ length: randInt(rnd, 1, 4) }, () => randInt(rnd, 1, 24));
  const layers: EieLayer[] = [];
  for (let l = 0; l + 1 < dims.length || l === 0; l++) {
    const cols = dims[l];
    const rows = dims[l + 1] ?? randInt(rnd, 1, 24);
    const bits = randInt(rnd, 1, sparse.vBits);
    const codes = randomCodes(rnd, rows, cols, bits, rnd() < 0.1 ? 0 : rnd());
    layers.push(makeLayer(rnd, `fc${l}`, rows, cols, bits, codes, numeric, sparse));
  }
  const meta: Bundle['meta'] = { source: `model-${seed}.npz`, seed, pruned: rnd() < 0.5, density: rnd() };
  return { engine: 'eie', numeric, sparse, layers, meta };
}

const NUMERIC: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };
const SPARSE: SparseFormat = { pes: 3, vBits: 4, zBits: 2 };

/** A fixed two-layer bundle (7 -> 10 -> 5) whose shape the validation tests rely on. */
function baseBundle(): Bundle {
  const rnd = prng(2024);
  const c0 = randomCodes(rnd, 10, 7, 3, 0.6);
  const c1 = randomCodes(rnd, 5, 10, 2, 0.6);
  c1[4 * 10 + 0] = 1; // row 4 (PE 1, local row 1) is used: shrinking rows to 4 must then fail
  c0[0] = 7; // some v needs all 3 bits
  return { engine: 'eie',
    numeric: { ...NUMERIC },
    sparse: { ...SPARSE },
    layers: [makeLayer(rnd, 'fc0', 10, 7, 3, c0, NUMERIC, SPARSE), makeLayer(rnd, 'fc1', 5, 10, 2, c1, NUMERIC, SPARSE)],
    meta: { source: 'test' },
  };
}

// ───────────── reading and rebuilding files, independently of bundle.ts ─────────────

interface RawSection {
  tag: string;
  index: number;
  payload: Uint8Array;
  offset: number;
  crcOk: boolean;
}

function parseFile(bytes: Uint8Array): { version: number; flags: number; count: number; headerCrcOk: boolean; sections: RawSection[]; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(8, true);
  const sections: RawSection[] = [];
  let o = 16;
  for (let n = 0; n < count; n++) {
    const len = dv.getUint32(o + 8, true);
    const end = o + 12 + len;
    sections.push({
      tag: String.fromCharCode(...bytes.subarray(o, o + 4)),
      index: dv.getUint32(o + 4, true),
      payload: bytes.slice(o + 12, end),
      offset: o,
      crcOk: dv.getUint32(end, true) === crc32(bytes.subarray(o, end)),
    });
    o = end + 4;
  }
  return {
    version: dv.getUint16(4, true),
    flags: dv.getUint16(6, true),
    count,
    headerCrcOk: dv.getUint32(12, true) === crc32(bytes.subarray(0, 12)),
    sections,
    end: o,
  };
}

function buildFile(sections: { tag: string; index: number; payload: Uint8Array }[], version = 2, flags = 0, count = sections.length): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(16);
  const hv = new DataView(head.buffer);
  head.set(Buffer.from('HWGB', 'latin1'));
  hv.setUint16(4, version, true);
  hv.setUint16(6, flags, true);
  hv.setUint32(8, count, true);
  hv.setUint32(12, crc32(head.subarray(0, 12)), true);
  parts.push(head);
  for (const s of sections) {
    const sec = new Uint8Array(16 + s.payload.length);
    const sv = new DataView(sec.buffer);
    sec.set(Buffer.from(s.tag, 'latin1'));
    sv.setUint32(4, s.index, true);
    sv.setUint32(8, s.payload.length, true);
    sec.set(s.payload, 12);
    sv.setUint32(12 + s.payload.length, crc32(sec.subarray(0, 12 + s.payload.length)), true);
    parts.push(sec);
  }
  return Buffer.concat(parts);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function editMeta(bytes: Uint8Array, fn: (meta: Json) => void): Uint8Array {
  const { sections } = parseFile(bytes);
  const meta = sections.find((s) => s.tag === 'META')!;
  const json = JSON.parse(Buffer.from(meta.payload).toString('utf8'));
  fn(json);
  meta.payload = Buffer.from(JSON.stringify(json), 'utf8');
  return buildFile(sections);
}

function editSection(bytes: Uint8Array, tag: string, index: number, fn: (payload: Uint8Array, dv: DataView) => Uint8Array | void): Uint8Array {
  const { sections } = parseFile(bytes);
  const s = sections.find((x) => x.tag === tag && x.index === index)!;
  s.payload = fn(s.payload, new DataView(s.payload.buffer, s.payload.byteOffset, s.payload.byteLength)) ?? s.payload;
  return buildFile(sections);
}

function decodeError(bytes: Uint8Array): HwgenError {
  try {
    decodeBundle(bytes, 'x.hwb');
  } catch (e) {
    expect(e).toBeInstanceOf(HwgenError);
    return e as HwgenError;
  }
  throw new Error('decodeBundle accepted the file');
}

// ───────────── tests ─────────────

describe('encodeBundle / decodeBundle', () => {
  it('round-trips random valid bundles exactly', () => {
    for (let seed = 1; seed <= 80; seed++) {
      const b = randomBundle(seed);
      const bytes = encodeBundle(b);
      expect(decodeBundle(bytes, 'mem')).toEqual(b);
    }
  });

  it('is deterministic: same bundle, same bytes, whatever the meta key order or copy', () => {
    for (let seed = 100; seed < 120; seed++) {
      const b = randomBundle(seed);
      const bytes = encodeBundle(b);
      expect(Buffer.from(encodeBundle(b)).equals(Buffer.from(bytes))).toBe(true);
      const reordered = { ...structuredClone(b), meta: Object.fromEntries(Object.entries(b.meta).reverse()) };
      expect(Buffer.from(encodeBundle(reordered)).equals(Buffer.from(bytes))).toBe(true);
      expect(Buffer.from(encodeBundle(decodeBundle(bytes, 'mem'))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('writes the documented layout: header, META first, then PTRS BIAS VHUF ZHUF per layer, CRCs, nothing after', () => {
    const b = baseBundle();
    const bytes = encodeBundle(b);
    const f = parseFile(bytes);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('HWGB');
    expect([f.version, f.flags, f.count, f.headerCrcOk]).toEqual([2, 0, 9, true]);
    expect(f.sections.map((s) => `${s.tag}:${s.index}`)).toEqual(['META:4294967295', 'PTRS:0', 'BIAS:0', 'VHUF:0', 'ZHUF:0', 'PTRS:1', 'BIAS:1', 'VHUF:1', 'ZHUF:1']);
    expect(f.sections.every((s) => s.crcOk)).toBe(true);
    expect(f.end).toBe(bytes.length);

    const meta = JSON.parse(Buffer.from(f.sections[0].payload).toString('utf8'));
    expect(Object.keys(meta)).toEqual(['generator', 'engine', 'numeric', 'sparse', 'meta', 'layers']);
    expect(meta.engine).toBe('eie');
    expect(meta.generator).toBe(`hwgen ${HWGEN_VERSION}`);
    expect(meta.layers[0].entries).toEqual(b.layers[0].slices.map((s) => s.v.length));
    expect(meta.layers[1].codebook).toEqual(Array.from(b.layers[1].codebook));

    const ptrs = f.sections[1].payload;
    const pv = new DataView(ptrs.buffer, ptrs.byteOffset, ptrs.byteLength);
    expect(ptrs.length).toBe(3 * 8 * 4);
    expect(pv.getUint32((2 * 8 + 7) * 4, true)).toBe(b.layers[0].slices[2].ptr[7]);
    const bias = f.sections[2].payload;
    expect(new DataView(bias.buffer, bias.byteOffset).getBigInt64(9 * 8, true)).toBe(BigInt(b.layers[0].bias[9]));

    // VHUF: 16 code lengths, count, bit length, ceil(bits / 8) bytes.
    const vhuf = f.sections[3].payload;
    const hv = new DataView(vhuf.buffer, vhuf.byteOffset, vhuf.byteLength);
    const total = b.layers[0].slices.reduce((n, s) => n + s.v.length, 0);
    expect(hv.getUint32(16, true)).toBe(total);
    expect(vhuf.length).toBe(16 + 8 + Math.ceil(hv.getUint32(20, true) / 8));
  });

  it('Huffman-codes skewed streams below their raw width', () => {
    const rnd = prng(8);
    const sparse = { pes: 4, vBits: 8, zBits: 8 };
    const codes = Uint8Array.from({ length: 200 * 100 }, () => (rnd() < 0.1 ? (rnd() < 0.9 ? 1 : randInt(rnd, 2, 255)) : 0));
    const layer = makeLayer(rnd, 'big', 200, 100, 8, codes, NUMERIC, sparse);
    const f = parseFile(encodeBundle({ engine: 'eie', numeric: NUMERIC, sparse, layers: [layer], meta: {} }));
    const entries = layer.slices.reduce((n, s) => n + s.v.length, 0);
    expect(f.sections.find((s) => s.tag === 'VHUF')!.payload.length).toBeLessThan(entries * 0.5); // raw would be 1 byte each
  });

  it('round-trips empty PEs (pes > rows) and an all-zero layer', () => {
    const rnd = prng(4);
    const sparse = { pes: 8, vBits: 2, zBits: 1 };
    const l0 = makeLayer(rnd, 'narrow', 3, 5, 2, randomCodes(rnd, 3, 5, 2, 1), NUMERIC, sparse);
    const l1 = makeLayer(rnd, 'zero', 4, 3, 1, new Uint8Array(12), NUMERIC, sparse);
    const b: Bundle = { engine: 'eie', numeric: NUMERIC, sparse, layers: [l0, l1], meta: {} };
    expect(l0.slices[5].v.length).toBe(0);
    expect(decodeBundle(encodeBundle(b), 'mem')).toEqual(b);
  });
});

describe('validation: every rule has its own error', () => {
  type Mutation = [string, (b: Bundle) => void, RegExp];
  const first = (b: Bundle): PeSlice => b.layers[0].slices.find((s) => s.v.length > 0)!;
  const mutations: Mutation[] = [
    ['pes 0', (b) => (b.sparse.pes = 0), /^bundle: sparse format: pes is 0; it must be an integer in 1\.\.64/],
    ['pes 65', (b) => (b.sparse.pes = 65), /pes is 65/],
    ['vBits 0', (b) => (b.sparse.vBits = 0), /vBits is 0; .* 1\.\.8/],
    ['vBits 9', (b) => (b.sparse.vBits = 9), /vBits is 9/],
    ['zBits 0', (b) => (b.sparse.zBits = 0), /zBits is 0/],
    ['zBits 9', (b) => (b.sparse.zBits = 9), /zBits is 9/],
    ['actBits 1', (b) => (b.numeric.actBits = 1), /numeric format: actBits is 1; .* 2\.\.32/],
    ['actBits 33', (b) => (b.numeric.actBits = 33), /actBits is 33/],
    ['actFrac -1', (b) => (b.numeric.actFrac = -1), /actFrac is -1; .* 0\.\.15/],
    ['actFrac = actBits', (b) => (b.numeric.actFrac = 16), /actFrac is 16/],
    ['weightBits 1', (b) => (b.numeric.weightBits = 1), /weightBits is 1/],
    ['weightBits 33', (b) => (b.numeric.weightBits = 33), /weightBits is 33/],
    ['accBits 1', (b) => (b.numeric.accBits = 1), /accBits is 1/],
    ['accBits 49', (b) => (b.numeric.accBits = 49), /accBits is 49; .* 2\.\.48/],
    ['accBits below one product', (b) => (b.numeric.accBits = 31), /accBits = 31 is narrower than one product/],
    ['no layers', (b) => (b.layers = []), /no layers/],
    ['meta NaN', (b) => (b.meta.x = NaN), /meta\.x is NaN/],
    ['unknown kind', (b) => ((b.layers[1] as { kind: string }).kind = 'ternary'), /layer 1 'fc1': unknown layer kind "ternary"/],
    ['an XNOR layer among EIE layers', (b) => ((b.layers[1] as { kind: string }).kind = 'xnor'), /layer 1 'fc1': a "xnor" layer in an EIE bundle/],
    ['name not a string', (b) => ((b.layers[0] as { name: unknown }).name = 5), /name is 5; it must be a string/],
    ['name with a path in it', (b) => (b.layers[0].name = '../../x'), /layer 0 is named "\.\.\/\.\.\/x"; a layer name is letters, digits and '_'/],
    ['two layers with one name', (b) => (b.layers[1].name = b.layers[0].name), /layers 0 and 1 are both named 'fc0'; layer names must be unique/],
    ['relu not boolean', (b) => ((b.layers[0] as { relu: unknown }).relu = 1), /relu is 1; it must be true or false/],
    ['rows 0', (b) => (b.layers[0].rows = 0), /layer 0 'fc0': rows is 0/],
    ['cols 0', (b) => (b.layers[0].cols = 0), /layer 0 'fc0': cols is 0/],
    ['bits 0', (b) => (b.layers[0].bits = 0), /bits \(at most vBits = 4\) is 0/],
    ['bits > vBits', (b) => (b.layers[0].bits = 5), /bits \(at most vBits = 4\) is 5/],
    ['wFrac -1', (b) => (b.layers[0].wFrac = -1), /wFrac is -1; .* 0\.\.31/],
    ['wFrac 32', (b) => (b.layers[0].wFrac = 32), /wFrac is 32/],
    ['codebook length', (b) => (b.layers[0].codebook = new Int32Array(4)), /codebook has 4 entries; bits = 3 needs exactly 8/],
    ['codebook[0] != 0', (b) => (b.layers[0].codebook[0] = 3), /codebook\[0\] is 3; .* must be 0/],
    ['codebook out of weightBits', (b) => (b.layers[1].codebook[2] = 32768), /layer 1 'fc1': codebook\[2\] \(signed weightBits = 16\) is 32768/],
    ['slices != pes', (b) => b.layers[0].slices.pop(), /layer 0 'fc0': 2 PE slices; the sparse format has pes = 3/],
    ['ptr length', (b) => (b.layers[0].slices[1].ptr = b.layers[0].slices[1].ptr.slice(1)), /layer 0 'fc0' PE 1: 7 column pointers; cols = 7 needs 8/],
    ['ptr[0] != 0', (b) => (b.layers[0].slices[2].ptr[0] = 1), /PE 2: ptr\[0\] is 1; the first column pointer must be 0/],
    [
      'decreasing ptr',
      (b) => {
        const s = b.layers[0].slices[0];
        s.ptr[1] = s.ptr[7] + 1;
      },
      /PE 0: ptr\[2\] = \d+ is less than ptr\[1\] = \d+; column pointers must not decrease/,
    ],
    ['ptr[cols] != entries', (b) => b.layers[0].slices[1].ptr[7]++, /PE 1: ptr\[7\] = \d+ but the PE has \d+ v and \d+ z entries/],
    ['v outside the codebook', (b) => (first(b).v[0] = 8), /entry 0 has v = 8, outside the 8-entry codebook \(bits = 3\)/],
    ['z wider than zBits', (b) => (first(b).z[0] = 4), /entry 0 has z = 4, which does not fit zBits = 2/],
    ['bias length', (b) => (b.layers[1].bias = b.layers[1].bias.slice(1)), /layer 1 'fc1': bias has 4 values; rows = 5 needs 5/],
    ['bias not an integer', (b) => (b.layers[1].bias[3] = 0.5), /bias\[3\] \(signed accBits = 32\) is 0\.5/],
    ['bias out of accBits', (b) => (b.layers[1].bias[0] = 2 ** 31), /bias\[0\] \(signed accBits = 32\) is 2147483648/],
    [
      'layers do not chain',
      (b) => {
        const rnd = prng(1);
        b.layers[1] = makeLayer(rnd, 'fc1', 5, 9, 2, randomCodes(rnd, 5, 9, 2, 0.5), NUMERIC, SPARSE);
      },
      /layer 0 'fc0' has 10 outputs but layer 1 'fc1' takes 9 inputs/,
    ],
  ];

  it.each(mutations)('%s', (_name, mutate, message) => {
    const b = baseBundle();
    expect(() => encodeBundle(b)).not.toThrow();
    mutate(b);
    expect(() => encodeBundle(b)).toThrow(HwgenError);
    expect(() => encodeBundle(b)).toThrow(message);
  });

  it('entries must stay within the PE local rows; the last local row itself is fine', () => {
    // rows 6, pes 2: each PE holds local rows 0..2.
    const sparse = { pes: 2, vBits: 2, zBits: 4 };
    const make = (z: number): Bundle => {
      const layer = makeLayer(prng(3), 'l', 6, 2, 2, new Uint8Array(12), NUMERIC, sparse);
      layer.slices[1] = { ptr: Uint32Array.from([0, 0, 2]), v: Uint8Array.from([1, 2]), z: Uint8Array.from([0, z]) };
      return { engine: 'eie', numeric: NUMERIC, sparse, layers: [layer], meta: {} };
    };
    expect(() => encodeBundle(make(1))).not.toThrow(); // rows 0 and 2
    expect(() => encodeBundle(make(2))).toThrow(/layer 0 'l' PE 1: column 1 entry 1 lands on local row 3, but the PE holds only 3 rows/);
    // A PE with no rows at all (pes > rows) may hold no entries.
    const tiny = makeLayer(prng(3), 't', 1, 1, 1, new Uint8Array(1), NUMERIC, sparse);
    tiny.slices[1] = { ptr: Uint32Array.from([0, 1]), v: Uint8Array.from([1]), z: Uint8Array.from([0]) };
    expect(() => encodeBundle({ engine: 'eie', numeric: NUMERIC, sparse, layers: [tiny], meta: {} })).toThrow(/PE 1: column 0 entry 0 lands on local row 0, but the PE holds only 0 rows/);
  });
});

describe('decodeBundle: damaged and foreign files', () => {
  const good = encodeBundle(baseBundle());
  const f = parseFile(good);

  it('accepts the untouched file', () => {
    expect(decodeBundle(good, 'x.hwb')).toEqual(baseBundle());
  });

  it('detects CRC mismatches in the header and in sections, naming the section and its offset', () => {
    const bad = good.slice();
    bad[f.sections[5].offset + 20] ^= 0x10;
    expect(decodeError(bad).message).toBe(`x.hwb: CRC mismatch in section "PTRS" at byte ${f.sections[5].offset}; the file is corrupt; re-run hwgen compress`);
    const badHead = good.slice();
    badHead[9] ^= 1;
    expect(decodeError(badHead).message).toMatch(/^x\.hwb: header CRC mismatch/);
  });

  it('rejects a foreign file, truncation and trailing bytes', () => {
    expect(decodeError(Buffer.from('PK\x03\x04 not a bundle at all')).message).toMatch(/not an hwgen bundle \(starts with "PK\\u0003\\u0004"|not an hwgen bundle \(starts with 0x504b0304/);
    expect(decodeError(good.subarray(0, 10)).message).toMatch(/too short for a bundle header/);
    expect(decodeError(good.subarray(0, good.length - 1)).message).toMatch(/past the end of the file .* truncated/);
    expect(decodeError(good.subarray(0, f.sections[3].offset + 5)).message).toMatch(/inside the header of section 4 of 9/);
    expect(decodeError(Buffer.concat([good, Buffer.from([0])])).message).toMatch(/1 bytes after the last of 9 sections/);
  });

  it('says a newer hwgen is needed for a newer version, flags, tags, kinds or keys', () => {
    expect(decodeError(buildFile(f.sections, 4)).message).toMatch(/format version 4, but this hwgen reads versions 1 to 3; the bundle needs a newer hwgen/);
    expect(decodeError(buildFile(f.sections, 2, 1)).message).toMatch(/flags 0x1 .*newer hwgen/);
    expect(decodeError(editMeta(good, (m) => (m.engine = 'ternary'))).message).toMatch(/engine "ternary" is not known to this hwgen; the bundle needs a newer hwgen/);
    const xnor = [...f.sections, { tag: 'XBIN', index: 1, payload: new Uint8Array(3) }];
    expect(decodeError(buildFile(xnor)).message).toMatch(/section "XBIN" at byte \d+ is not known to this hwgen; the bundle needs a newer hwgen/);
    expect(decodeError(editMeta(good, (m) => (m.layers[1].kind = 'ternary'))).message).toMatch(/layer 1: layer kind "ternary" is not known .*newer hwgen/);
    expect(decodeError(editMeta(good, (m) => (m.layers[1].kind = 'xnor'))).message).toMatch(/layer 1: a xnor layer in a bundle with a sparse format/);
    expect(decodeError(editMeta(good, (m) => (m.layers[0].sign = true))).message).toMatch(/unexpected key "sign"; the bundle needs a newer hwgen/);
  });

  it('rejects missing, duplicate and stray sections and bad section indices', () => {
    const noBias = f.sections.filter((s) => !(s.tag === 'BIAS' && s.index === 1));
    expect(decodeError(buildFile(noBias)).message).toMatch(/layer 1 'fc1': no BIAS section/);
    expect(decodeError(buildFile([...f.sections, f.sections[1]])).message).toMatch(/second PTRS section for layer 0/);
    expect(decodeError(buildFile([...f.sections, { ...f.sections[2], index: 5 }])).message).toMatch(/section BIAS for layer 5 at byte \d+ does not belong to any of the 2 layers/);
    expect(decodeError(buildFile([{ ...f.sections[0], index: 0 }, ...f.sections.slice(1)])).message).toMatch(/META at byte 16 has layer index 0/);
    expect(decodeError(buildFile(f.sections.slice(1))).message).toMatch(/no META section/);
    expect(decodeError(buildFile(f.sections, 1, 0, 10)).message).toMatch(/inside the header of section 10 of 10/);
  });

  it('reads version-1 files, which name no engine (an EIE bundle is the one with a sparse format)', () => {
    const v1 = (bytes: Uint8Array) => {
      const { sections } = parseFile(bytes);
      const meta = sections.find((s) => s.tag === 'META')!;
      const json = JSON.parse(Buffer.from(meta.payload).toString('utf8'));
      delete json.engine;
      meta.payload = Buffer.from(JSON.stringify(json), 'utf8');
      return buildFile(sections, 1);
    };
    expect(decodeAnyBundle(v1(good), 'v1.hwb')).toEqual(decodeAnyBundle(good, 'v2.hwb'));
    const bin = encodeBundle(binaryBundle(3));
    expect(decodeAnyBundle(v1(bin), 'v1.hwb')).toEqual(decodeAnyBundle(bin, 'v2.hwb'));
    expect(decodeError(editMeta(good, (m) => delete m.engine)).message).toMatch(/META \(byte 16\): engine is undefined; the file is corrupt/);
    expect(decodeError(editMeta(good, (m) => (m.engine = 'xnor'))).message).toMatch(/missing key|unexpected key "sparse"/);
  });

  it('rejects META that is not JSON or lacks keys', () => {
    const notJson = f.sections.map((s) => (s.tag === 'META' ? { ...s, payload: Buffer.from('{"generator":') } : s));
    expect(decodeError(buildFile(notJson)).message).toMatch(/META \(byte 16\): not valid UTF-8 JSON/);
    expect(decodeError(editMeta(good, (m) => delete m.sparse.zBits)).message).toMatch(/sparse: missing key "zBits"/);
    expect(decodeError(editMeta(good, (m) => (m.layers[0].entries = [1, 2]))).message).toMatch(/entries must list one count per PE \(pes = 3\)/);
    expect(decodeError(editMeta(good, (m) => (m.numeric.accBits = 50))).message).toMatch(/accBits is 50/);
    expect(decodeError(editMeta(good, (m) => (m.layers[1].codebook = [0, 1, 2]))).message).toMatch(/layer 1 'fc1': codebook has 3 entries/);
  });

  it('applies the layer checks to what it reads, naming layer and PE', () => {
    const shrunk = editSection(
      editMeta(good, (m) => (m.layers[1].rows = 4)),
      'BIAS',
      1,
      (p) => p.subarray(0, 32),
    );
    expect(decodeError(shrunk).message).toMatch(/x\.hwb: layer 1 'fc1' PE 1: column 0 entry \d+ lands on local row 1, but the PE holds only 1 rows/);
    expect(decodeError(editMeta(good, (m) => (m.layers[1].rows = 4))).message).toMatch(/BIAS section at byte \d+ has 40 payload bytes; rows = 4 × int64 needs 32/);
    const decreasing = editSection(good, 'PTRS', 0, (_p, dv) => dv.setUint32((8 + 1) * 4, 1000, true));
    expect(decodeError(decreasing).message).toMatch(/layer 0 'fc0' PE 1: ptr\[2\] = \d+ is less than ptr\[1\] = 1000/);
    const moved = editMeta(good, (m) => {
      m.layers[0].entries[0]--;
      m.layers[0].entries[2]++;
    });
    expect(decodeError(moved).message).toMatch(/layer 0 'fc0' PE 0: ptr\[7\] = \d+ but the PE has \d+ v/);
    const narrow = editMeta(good, (m) => {
      m.layers[0].bits = 1;
      m.layers[0].codebook = [0, 5];
    });
    expect(decodeError(narrow).message).toMatch(/layer 0 'fc0' PE \d: entry \d+ has v = \d+, outside the 2-entry codebook/);
    const bigBias = editSection(good, 'BIAS', 0, (_p, dv) => dv.setBigInt64(16, 1n << 40n, true));
    expect(decodeError(bigBias).message).toMatch(/layer 0 'fc0': bias\[2\] \(signed accBits = 32\) is 1099511627776/);
  });

  it('rejects damaged Huffman streams', () => {
    const countOff = editMeta(good, (m) => m.layers[0].entries[1]++);
    expect(decodeError(countOff).message).toMatch(/VHUF \(byte \d+\): \d+ symbols, but META's per-PE entry counts add up to/);
    const over = editSection(good, 'VHUF', 0, (p) => void p.fill(1, 0, 16));
    expect(decodeError(over).message).toMatch(/layer 0 'fc0' VHUF .*over-subscribed/);
    const tooLong = editSection(good, 'ZHUF', 1, (p) => void (p[0] = 17));
    expect(decodeError(tooLong).message).toMatch(/ZHUF .*symbol 0 has code length 17 > 16/);
    const shortBits = editSection(good, 'VHUF', 1, (_p, dv) => dv.setUint32(20, dv.getUint32(20, true) + 8, true));
    expect(decodeError(shortBits).message).toMatch(/bytes of packed bits, but a bit length of \d+ needs/);
    // Padding bits only exist when the bit length is not a multiple of 8.
    const withPad = f.sections.find((s) => s.tag.endsWith('HUF') && hufBits(s) % 8 !== 0)!;
    expect(withPad).toBeDefined();
    const padded = editSection(good, withPad.tag, withPad.index, (p) => void (p[p.length - 1] |= 1));
    expect(decodeError(padded).message).toMatch(/padding bits after the last code are not zero/);
  });

  it('rejects a file whose layers do not chain', () => {
    const rnd = prng(77);
    const one = (rows: number, cols: number, name: string): Bundle => ({ engine: 'eie',
      numeric: NUMERIC,
      sparse: SPARSE,
      layers: [makeLayer(rnd, name, rows, cols, 2, randomCodes(rnd, rows, cols, 2, 0.5), NUMERIC, SPARSE)],
      meta: {},
    });
    const a = parseFile(encodeBundle(one(10, 7, 'a')));
    const b = parseFile(encodeBundle(one(5, 9, 'b')));
    const metaA = JSON.parse(Buffer.from(a.sections[0].payload).toString());
    const metaB = JSON.parse(Buffer.from(b.sections[0].payload).toString());
    metaA.layers.push(metaB.layers[0]);
    const spliced = buildFile([
      { tag: 'META', index: 0xffffffff, payload: Buffer.from(JSON.stringify(metaA)) },
      ...a.sections.slice(1),
      ...b.sections.slice(1).map((s) => ({ ...s, index: 1 })),
    ]);
    expect(decodeError(spliced).message).toBe(
      "x.hwb: layer 0 'a' has 10 outputs but layer 1 'b' takes 9 inputs; consecutive layers must chain",
    );
  });
});

/** Bit length field of a Huffman section (after the 2^symBits code lengths and the count). */
function hufBits(s: RawSection): number {
  const dv = new DataView(s.payload.buffer, s.payload.byteOffset, s.payload.byteLength);
  const alphabet = s.tag === 'VHUF' ? 2 ** SPARSE.vBits : 2 ** SPARSE.zBits;
  return dv.getUint32(alphabet + 4, true);
}

describe('writeBundle / readBundle', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hwgen-bundle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fresh = (name: string): string => {
    const d = join(dir, name);
    mkdirSync(d);
    return d;
  };

  it('writes a file readBundle reads back, leaving no temp file', () => {
    const d = fresh('ok');
    const b = randomBundle(5);
    writeBundle(join(d, 'm.hwb'), b);
    expect(readdirSync(d)).toEqual(['m.hwb']);
    expect(readBundle(join(d, 'm.hwb'))).toEqual(b);
    expect(Buffer.from(readFileSync(join(d, 'm.hwb'))).equals(Buffer.from(encodeBundle(b)))).toBe(true);
  });

  it('replaces an existing file', () => {
    const d = fresh('replace');
    const p = join(d, 'm.hwb');
    writeFileSync(p, 'old');
    writeBundle(p, randomBundle(6));
    expect(readBundle(p)).toEqual(randomBundle(6));
    expect(readdirSync(d)).toEqual(['m.hwb']);
  });

  it('refuses an invalid bundle without touching an existing file', () => {
    const d = fresh('invalid');
    const p = join(d, 'm.hwb');
    writeFileSync(p, 'keep me');
    const b = baseBundle();
    b.layers[0].wFrac = 40;
    expect(() => writeBundle(p, b)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: layer 0 'fc0': wFrac is 40`));
    expect(readFileSync(p, 'utf8')).toBe('keep me');
    expect(readdirSync(d)).toEqual(['m.hwb']);
    expect(() => writeBundle(join(d, 'new.hwb'), b)).toThrow(HwgenError);
    expect(existsSync(join(d, 'new.hwb'))).toBe(false);
  });

  it('leaves the old file and no temp file when the write fails midway (fsync error)', () => {
    const d = fresh('fsync');
    const p = join(d, 'm.hwb');
    writeFileSync(p, 'keep me');
    vi.mocked(fsyncSync).mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    expect(() => writeBundle(p, baseBundle())).toThrow(/^cannot write bundle .*m\.hwb: EIO: i\/o error/);
    expect(readFileSync(p, 'utf8')).toBe('keep me');
    expect(readdirSync(d)).toEqual(['m.hwb']);
  });

  it('names the path when the directory is missing or the path is a directory', () => {
    const missing = join(dir, 'no-such-dir', 'm.hwb');
    expect(() => writeBundle(missing, baseBundle())).toThrow(/cannot write bundle .*no-such-dir\/m\.hwb: directory .*no-such-dir does not exist/);
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
    const d = fresh('isdir');
    mkdirSync(join(d, 'm.hwb'));
    expect(() => writeBundle(join(d, 'm.hwb'), baseBundle())).toThrow(HwgenError);
    expect(readdirSync(d)).toEqual(['m.hwb']);
  });

  it('reports unreadable and corrupt files with their path', () => {
    expect(() => readBundle(join(dir, 'absent.hwb'))).toThrow(/cannot read bundle .*absent\.hwb: no such file; check the path/);
    expect(() => readBundle(dir)).toThrow(HwgenError);
    const p = join(fresh('corrupt'), 'm.hwb');
    writeFileSync(p, encodeBundle(baseBundle()).subarray(0, 100));
    expect(() => readBundle(p)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });
});

// ───────────── binary (XNOR) bundles ─────────────

function binaryBundle(seed: number): BinaryBundle {
  const rnd = prng(seed);
  const sizes = [randInt(rnd, 1, 40), randInt(rnd, 1, 40), randInt(rnd, 1, 40)];
  const layers: XnorLayer[] = [0, 1].map((l) => {
    const rows = sizes[l + 1];
    const cols = sizes[l];
    const scores = l === 1;
    const input = l === 0 ? 'fixed' : 'binary';
    const lim = input === 'fixed' ? cols * 2 ** (NUMERIC.actBits - 1) : cols;
    const bits = Array.from({ length: rows }, () => packBits(Array.from({ length: cols }, () => (rnd() < 0.5 ? 1 : 0))));
    return {
      kind: 'xnor', name: `b${l}`, rows, cols, input, output: scores ? 'scores' : 'threshold',
      weights: Uint8Array.from(bits.flatMap((r) => Array.from(r))),
      threshold: scores ? new Float64Array(0) : Float64Array.from({ length: rows }, () => randInt(rnd, input === 'fixed' ? -lim : 0, lim + 1)),
      flip: scores ? new Uint8Array(0) : Uint8Array.from({ length: rows }, () => (rnd() < 0.5 ? 1 : 0)),
      alpha: scores ? Int32Array.from({ length: rows }, () => randSigned(rnd, NUMERIC.weightBits)) : new Int32Array(0),
      bias: scores ? Float64Array.from({ length: rows }, () => randSigned(rnd, NUMERIC.accBits)) : new Float64Array(0),
      alphaFrac: scores ? randInt(rnd, NUMERIC.actFrac, 31) : 0,
      conv: undefined,
      pool: 1,
    } satisfies XnorLayer;
  });
  return { engine: 'xnor', numeric: { ...NUMERIC }, layers, meta: { source: 'bin', seed } };
}

describe('binary (XNOR) bundles', () => {
  it('round-trip exactly and encode byte-stably', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const b = binaryBundle(seed);
      const bytes = encodeBundle(b);
      expect(decodeAnyBundle(bytes, 'mem')).toEqual(b);
      expect(Buffer.from(encodeBundle(decodeAnyBundle(bytes, 'mem'))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('a convolution with pooling round-trips; META names its geometry', () => {
    const conv: XnorLayer = {
      kind: 'xnor', name: 'c0', rows: 3, cols: 2 * 9, input: 'binary', output: 'threshold',
      weights: new Uint8Array(3 * 3), threshold: Float64Array.from([0, 5, 19]), flip: Uint8Array.from([0, 1, 0]),
      alpha: new Int32Array(0), bias: new Float64Array(0), alphaFrac: 0,
      conv: { inChannels: 2, inHeight: 6, inWidth: 5, kernel: 3, padding: 'same' }, pool: 2,
    };
    const b: BinaryBundle = { engine: 'xnor', numeric: NUMERIC, layers: [conv], meta: {} };
    const bytes = encodeBundle(b);
    expect(decodeAnyBundle(bytes, 'mem')).toEqual(b);
    const meta = JSON.parse(new TextDecoder().decode(parseFile(bytes).sections[0].payload));
    expect(meta.layers[0].conv).toEqual({ inChannels: 2, inHeight: 6, inWidth: 5, kernel: 3, padding: 'same' });
    expect(meta.sparse).toBeUndefined();
  });

  it('decodeBundle (EIE) refuses a binary bundle; decodeAnyBundle reads an EIE one unchanged', () => {
    expect(() => decodeBundle(encodeBundle(binaryBundle(3)), 'b.hwb')).toThrow(/binary \(XNOR\) layers/);
    expect(decodeAnyBundle(encodeBundle(baseBundle()), 'e.hwb')).toEqual(baseBundle());
  });

  type Mutation = [string, (b: BinaryBundle) => void, RegExp];
  const mutations: Mutation[] = [
    ['threshold out of range', (b) => (b.layers[0].threshold[0] = 1e12), /threshold\[0\] is 1000000000000/],
    ['flip not a bit', (b) => (b.layers[0].flip[0] = 2), /flip\[0\] is 2/],
    ['alpha too wide', (b) => (b.layers[1].alpha[0] = 2 ** 20), /alpha\[0\] \(signed weightBits = 16\) is 1048576; it must be an integer in -32768..32767/],
    ['padding bits set', (b) => (b.layers[0].weights[b.layers[0].weights.length - 1] |= 0x80), /padding bits set|weight bytes/],
    ['scores before the last layer', (b) => (b.layers = [b.layers[1], { ...b.layers[1], name: 'again' }]), /only the last layer may output scores/],
    ['fixed input after the first', (b) => (b.layers[1].input = 'fixed'), /only the first layer may take fixed-point input/],
    ['chain broken', (b) => (b.layers[1].cols += 1), /consecutive layers must chain|weight bytes|padding/],
  ];
  for (const [what, mutate, message] of mutations) {
    it(`rejects ${what}`, () => {
      let b = binaryBundle(11);
      while (b.layers[0].cols % 8 === 0) b = binaryBundle(b.layers[0].cols + 100);
      mutate(b);
      expect(() => encodeBundle(b)).toThrow(message);
    });
  }
});

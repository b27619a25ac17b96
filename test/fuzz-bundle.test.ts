import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HwgenError } from '../src/errors.js';
import { decodeBundle, encodeBundle } from '../src/model/bundle.js';
import type { Bundle, EieLayer } from '../src/model/types.js';
import { rng as prng } from './helpers/random.js';
import { toSlices } from './helpers/csc-reference.js';

/**
 * Fuzzing the .hwb reader: every damaged file must be rejected with a HwgenError (never another exception,
 * never a hang, never silently accepted when bytes changed). Seeded, so any failure reproduces.
 */

const int = (rnd: () => number, min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));

/** A small valid two-layer bundle (a few hundred bytes), so every bit position can be tried. */
function smallBundle(seed: number): Bundle {
  const rnd = prng(seed);
  const numeric = { actBits: 8, actFrac: 4, weightBits: 8, accBits: 24 };
  const sparse = { pes: 2, vBits: 3, zBits: 2 };
  const layer = (name: string, rows: number, cols: number, bits: number): EieLayer => {
    const codes = Uint8Array.from({ length: rows * cols }, () => (rnd() < 0.4 ? int(rnd, 1, 2 ** bits - 1) : 0));
    return {
      kind: 'eie',
      name,
      rows,
      cols,
      bits,
      codebook: Int32Array.from({ length: 2 ** bits }, (_, i) => (i ? int(rnd, -128, 127) : 0)),
      wFrac: int(rnd, 0, 10),
      bias: Float64Array.from({ length: rows }, () => int(rnd, -1000, 1000)),
      relu: rnd() < 0.5,
      slices: toSlices(codes, rows, cols, sparse.pes, sparse.zBits),
    };
  };
  return { engine: 'eie', numeric, sparse, layers: [layer('a', 9, 6, 3), layer('b', 4, 9, 2)], meta: { source: 'fuzz' } };
}

/** 'ok', 'hwgen', or the description of any other exception (a bug). */
function outcome(bytes: Uint8Array): string {
  try {
    decodeBundle(bytes, 'fuzz.hwb');
    return 'ok';
  } catch (e) {
    return e instanceof HwgenError ? 'hwgen' : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/** Decodes every variant; returns the labels of variants that were not rejected with a HwgenError. */
function notRejected(variants: Iterable<[string, Uint8Array]>): string[] {
  const bad: string[] = [];
  for (const [label, bytes] of variants) {
    const o = outcome(bytes);
    if (o !== 'hwgen') bad.push(`${label}: ${o}`);
  }
  return bad;
}

const good = encodeBundle(smallBundle(1));

describe('decodeBundle fuzzing', () => {
  it('decodes the pristine file', () => {
    expect(outcome(good)).toBe('ok');
    expect(good.length).toBeGreaterThan(150);
    expect(good.length).toBeLessThan(1500);
  });

  it('rejects a single bit flip at every bit position', () => {
    function* flips(): Generator<[string, Uint8Array]> {
      for (let bit = 0; bit < good.length * 8; bit++) {
        const b = good.slice();
        b[bit >> 3] ^= 0x80 >> (bit & 7);
        yield [`bit ${bit}`, b];
      }
    }
    expect(notRejected(flips())).toEqual([]);
  });

  it('rejects truncation at every length', () => {
    function* cuts(): Generator<[string, Uint8Array]> {
      for (let n = 0; n < good.length; n++) yield [`length ${n}`, good.subarray(0, n)];
    }
    expect(notRejected(cuts())).toEqual([]);
  });

  it('rejects a byte inserted or deleted at every position', () => {
    const rnd = prng(2);
    function* edits(): Generator<[string, Uint8Array]> {
      for (let at = 0; at <= good.length; at++) {
        const ins = new Uint8Array(good.length + 1);
        ins.set(good.subarray(0, at));
        ins[at] = int(rnd, 0, 255);
        ins.set(good.subarray(at), at + 1);
        yield [`insert at ${at}`, ins];
        if (at < good.length) {
          const del = new Uint8Array(good.length - 1);
          del.set(good.subarray(0, at));
          del.set(good.subarray(at + 1), at);
          yield [`delete at ${at}`, del];
        }
      }
    }
    expect(notRejected(edits())).toEqual([]);
  });

  it('rejects multi-byte corruption and random bytes, also behind a valid magic or header', () => {
    const rnd = prng(3);
    function* junk(): Generator<[string, Uint8Array]> {
      for (let t = 0; t < 3000; t++) {
        const b = good.slice();
        const k = int(rnd, 1, 8);
        for (let i = 0; i < k; i++) b[int(rnd, 0, b.length - 1)] ^= int(rnd, 1, 255); // xor with non-zero: a real change
        yield [`corrupt trial ${t}`, b];
      }
      for (let t = 0; t < 2000; t++) {
        const b = Uint8Array.from({ length: int(rnd, 0, 600) }, () => int(rnd, 0, 255));
        if (t % 3 === 1 && b.length >= 4) b.set([0x48, 0x57, 0x47, 0x42]); // "HWGB"
        if (t % 3 === 2 && b.length >= 16) {
          b.set(good.subarray(0, 12)); // a genuine header with a correct CRC, then noise
          new DataView(b.buffer).setUint32(12, crc32(b.subarray(0, 12)), true);
        }
        yield [`random trial ${t}`, b];
      }
    }
    expect(notRejected(junk())).toEqual([]);
  });

  it('never throws anything but HwgenError when payloads change behind valid CRCs', () => {
    // With CRCs recomputed, the structural checks are all that stand between bad data and a crash.
    const rnd = prng(4);
    const sections = splitSections(good);
    const bugs: string[] = [];
    let accepted = 0;
    for (let t = 0; t < 4000; t++) {
      const copy = sections.map((s) => ({ ...s, payload: s.payload.slice() }));
      const s = copy[int(rnd, 0, copy.length - 1)];
      mutatePayload(s, rnd);
      const bytes = joinSections(copy);
      const o = outcome(bytes);
      if (o === 'ok') {
        accepted++;
        // Anything accepted must be a bundle the writer agrees is valid and can reproduce.
        const back = decodeBundle(bytes, 'fuzz.hwb');
        expect(() => encodeBundle(back)).not.toThrow();
      } else if (o !== 'hwgen') bugs.push(`trial ${t} (${s.tag} ${s.index}): ${o}`);
    }
    expect(bugs).toEqual([]);
    expect(accepted).toBeLessThan(4000); // the mutations do reach the checks
  });
});

interface Sec {
  tag: string;
  index: number;
  payload: Uint8Array;
}

function splitSections(bytes: Uint8Array): Sec[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Sec[] = [];
  for (let o = 16, n = dv.getUint32(8, true); n > 0; n--) {
    const len = dv.getUint32(o + 8, true);
    out.push({ tag: String.fromCharCode(...bytes.subarray(o, o + 4)), index: dv.getUint32(o + 4, true), payload: bytes.slice(o + 12, o + 12 + len) });
    o += 16 + len;
  }
  return out;
}

function joinSections(sections: Sec[]): Uint8Array {
  const size = 16 + sections.reduce((n, s) => n + 16 + s.payload.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(good.subarray(0, 8));
  dv.setUint32(8, sections.length, true);
  dv.setUint32(12, crc32(out.subarray(0, 12)), true);
  let o = 16;
  for (const s of sections) {
    for (let i = 0; i < 4; i++) out[o + i] = s.tag.charCodeAt(i);
    dv.setUint32(o + 4, s.index, true);
    dv.setUint32(o + 8, s.payload.length, true);
    out.set(s.payload, o + 12);
    dv.setUint32(o + 12 + s.payload.length, crc32(out.subarray(o, o + 12 + s.payload.length)), true);
    o += 16 + s.payload.length;
  }
  return out;
}

/** Byte flips, bytes set to extremes, u32 fields set to huge values, truncation, or a META JSON tweak. */
function mutatePayload(s: Sec, rnd: () => number): void {
  const p = s.payload;
  const kind = int(rnd, 0, 4);
  if (kind === 4 && s.tag === 'META') {
    const json = JSON.parse(new TextDecoder().decode(p));
    const paths: [object, string][] = [];
    const walk = (x: unknown): void => {
      if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) (paths.push([x, k]), walk(v));
    };
    walk(json);
    const [obj, key] = paths[int(rnd, 0, paths.length - 1)];
    const values = [0, -1, 1, 2 ** 32, 1.5, null, 'x', [], {}, true, 65, 1e300];
    (obj as Record<string, unknown>)[key] = values[int(rnd, 0, values.length - 1)];
    s.payload = new TextEncoder().encode(JSON.stringify(json));
    return;
  }
  if (p.length === 0) return;
  if (kind === 0 || kind === 4) p[int(rnd, 0, p.length - 1)] ^= 1 << int(rnd, 0, 7);
  else if (kind === 1) p[int(rnd, 0, p.length - 1)] = rnd() < 0.5 ? 0 : 255;
  else if (kind === 2 && p.length >= 4) {
    const at = int(rnd, 0, p.length - 4);
    new DataView(p.buffer, p.byteOffset).setUint32(at, [0xffffffff, 0x7fffffff, 0, 1][int(rnd, 0, 3)], true);
  } else s.payload = p.subarray(0, int(rnd, 0, p.length - 1));
}

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { HwgenError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { randomHybrid } from '../../test/helpers/networks.js';
import { decodeAnyBundle, decodeBundle, decodeNetwork, encodeBundle, encodeNetwork, readAnyBundle, readNetwork, writeNetwork } from './bundle.js';
import type { BinaryBundle, Bundle, Network } from './types.js';

interface Raw {
  tag: string;
  segment: number;
  index: number;
  payload: Uint8Array;
}

/** A version-3 file's sections, as the bytes say (docs/bundle.md). */
function parseV3(buf: Uint8Array): { version: number; sections: Raw[] } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint16(4, true);
  const sections: Raw[] = [];
  let o = 16;
  for (let n = dv.getUint32(8, true); n > 0; n--) {
    const len = dv.getUint32(o + 12, true);
    sections.push({ tag: Buffer.from(buf.subarray(o, o + 4)).toString('latin1'), segment: dv.getUint32(o + 4, true), index: dv.getUint32(o + 8, true), payload: buf.slice(o + 16, o + 16 + len) });
    o += 16 + len + 4;
  }
  expect(o).toBe(buf.length);
  return { version, sections };
}

function buildV3(sections: Raw[]): Uint8Array {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(16);
  head.write('HWGB', 0, 'latin1');
  head.writeUInt16LE(3, 4);
  head.writeUInt32LE(sections.length, 8);
  head.writeUInt32LE(crc32(head.subarray(0, 12)), 12);
  parts.push(head);
  for (const s of sections) {
    const h = Buffer.alloc(16);
    h.write(s.tag, 0, 'latin1');
    h.writeUInt32LE(s.segment, 4);
    h.writeUInt32LE(s.index, 8);
    h.writeUInt32LE(s.payload.length, 12);
    const body = Buffer.concat([h, Buffer.from(s.payload)]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(body), 0);
    parts.push(body, crc);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function errorOf(f: () => unknown): HwgenError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HwgenError);
    return e as HwgenError;
  }
  throw new Error('expected an error');
}

describe('networks of segments in a bundle', () => {
  it('random XNOR → EIE networks round-trip exactly as version 3, byte-stably, every section naming its segment', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const net = randomHybrid(seed);
      const bytes = encodeNetwork(net);
      expect(decodeNetwork(bytes, 'mem')).toEqual(net);
      expect(Buffer.from(encodeNetwork(decodeNetwork(bytes, 'mem'))).equals(Buffer.from(bytes))).toBe(true);
      const { version, sections } = parseV3(bytes);
      expect(version).toBe(3);
      const metas = sections.filter((s) => s.tag === 'META');
      expect(metas.map((s) => [s.segment, JSON.parse(Buffer.from(s.payload).toString()).engine])).toEqual([[0, 'xnor'], [1, 'eie']]);
      // each segment's sections are exactly what the one-segment file of it holds
      for (const [s, seg] of net.segments.entries()) {
        const alone = encodeBundle(seg);
        const mine = sections.filter((x) => x.segment === s);
        expect(Buffer.from(encodeNetwork({ segments: [seg] })).equals(Buffer.from(alone))).toBe(true);
        expect(mine.length).toBe(new DataView(alone.buffer, alone.byteOffset).getUint32(8, true));
      }
    }
  });

  it('a one-segment network is the version 2 file hwgen always wrote: the committed models re-encode byte for byte', () => {
    for (const name of ['fashion-mnist-lenet.hwb', 'fashion-mnist-bmlp.hwb']) {
      const file = readFileSync(join(PACKAGE_ROOT, 'models', name));
      const net = decodeNetwork(file, name);
      expect(net.segments.length).toBe(1);
      expect(new DataView(file.buffer, file.byteOffset).getUint16(4, true)).toBe(2);
      expect(Buffer.from(encodeNetwork(net)).equals(file)).toBe(true);
      expect(decodeAnyBundle(file, name)).toEqual(net.segments[0]);
    }
  });

  it('the one-segment readers refuse a hybrid network with a message naming the file and its segments', () => {
    const bytes = encodeNetwork(randomHybrid(3));
    expect(errorOf(() => decodeAnyBundle(bytes, 'h.hwb')).message).toMatch(/^h\.hwb: the bundle is a hybrid network of 2 segments, xnor \(conv0.*\) → eie \(fc0.*\); this command does not take hybrid bundles yet$/);
    expect(errorOf(() => decodeBundle(bytes, 'h.hwb')).message).toMatch(/does not take hybrid bundles yet/);
  });

  it('refuses segments that do not chain, naming the boundary and its layers', () => {
    const net = randomHybrid(5);
    const eie = net.segments[1] as Bundle;
    const xnor = net.segments[0] as BinaryBundle;
    const wider: Network = { segments: [xnor, { ...eie, layers: [{ ...eie.layers[0], cols: eie.layers[0].cols + 1 }, ...eie.layers.slice(1)] }] };
    // a segment's own checks come first, and name the segment
    expect(errorOf(() => encodeNetwork(wider, 'n.hwb')).message).toMatch(/^n\.hwb segment 1: layer 0 'fc0' PE 0: \d+ column pointers/);
    const last = xnor.layers[xnor.layers.length - 1];
    const fewer: Network = { segments: [{ ...xnor, layers: [...xnor.layers.slice(0, -1), { ...last, rows: last.rows + 1, weights: new Uint8Array(last.weights.length + last.weights.length / last.rows), threshold: Float64Array.from([...last.threshold, 0]), flip: Uint8Array.from([...last.flip, 0]) }] }, eie] };
    expect(errorOf(() => encodeNetwork(fewer, 'n.hwb')).message).toMatch(
      new RegExp(`^n\\.hwb: segments 0 \\(xnor\\) and 1 \\(eie\\): layer '${last.name}' gives \\d+ outputs but layer 'fc0' takes ${eie.layers[0].cols} inputs; consecutive segments must chain$`),
    );
  });

  it('refuses boundaries the engines do not have, and formats a bit cannot cross into', () => {
    const net = randomHybrid(7);
    const [xnor, eie] = net.segments as [BinaryBundle, Bundle];
    expect(errorOf(() => encodeNetwork({ segments: [eie, xnor] }, 'n')).message).toMatch(/^n: segments 0 \(eie\) and 1 \(xnor\): a eie segment \(ending with layer 'fc\d'\) cannot feed a xnor segment \(starting with layer 'conv0'\); segments join xnor → eie only$/);
    expect(errorOf(() => encodeNetwork({ segments: [xnor, xnor] }, 'n')).message).toMatch(/cannot feed a xnor segment .*consecutive layers of one engine belong in one segment/);
    const tight = { ...eie, numeric: { ...eie.numeric, actFrac: eie.numeric.actBits - 1 } };
    expect(errorOf(() => encodeNetwork({ segments: [xnor, tight] }, 'n')).message).toMatch(/^n: segments 0 \(xnor\) and 1 \(eie\): the EIE layer 'fc0' takes \d+-bit activations with \d+ fractional bits, which cannot hold the 1\.0 a bit becomes/);
    const renamed = { ...eie, layers: eie.layers.map((l, i) => (i === 0 ? { ...l, name: xnor.layers[0].name } : l)) };
    expect(errorOf(() => encodeNetwork({ segments: [xnor, renamed] }, 'n')).message).toMatch(/layers 0 and \d+ are both named 'conv0'; layer names must be unique/);
    expect(errorOf(() => encodeNetwork({ segments: [] }, 'n')).message).toMatch(/^n: the network has no segments/);
  });

  it('refuses a damaged version 3 file, naming the segment', () => {
    const bytes = encodeNetwork(randomHybrid(9));
    const { sections } = parseV3(bytes);
    expect(decodeNetwork(buildV3(sections), 'x')).toEqual(decodeNetwork(bytes, 'x'));
    const gap = sections.map((s) => (s.segment === 1 ? { ...s, segment: 2 } : s));
    expect(errorOf(() => decodeNetwork(buildV3(gap), 'x')).message).toMatch(/^x: segment 1 has no sections, but segment 2 has; segments are numbered from 0 in order/);
    const noMeta = sections.filter((s) => !(s.segment === 1 && s.tag === 'META'));
    expect(errorOf(() => decodeNetwork(buildV3(noMeta), 'x')).message).toMatch(/^x segment 1: no META section/);
    const stray = [...sections, { ...sections.find((s) => s.tag === 'BIAS')!, index: 7 }];
    expect(errorOf(() => decodeNetwork(buildV3(stray), 'x')).message).toMatch(/^x segment 1: section BIAS for layer 7 at byte \d+ does not belong to any of the \d+ layers META lists/);
    const twice = [...sections, sections[1]];
    expect(errorOf(() => decodeNetwork(buildV3(twice), 'x')).message).toMatch(/second XWGT section for layer 0 of segment 0/);
    const far = sections.map((s, i) => (i === 0 ? { ...s, segment: 1000 } : s));
    expect(errorOf(() => decodeNetwork(buildV3(far), 'x')).message).toMatch(/names segment 1000, but the file has \d+ sections/);
    const moved = sections.map((s) => (s.tag === 'PTRS' && s.index === 0 ? { ...s, segment: 0 } : s));
    expect(errorOf(() => decodeNetwork(buildV3(moved), 'x')).message).toMatch(/^x segment 0: section PTRS for layer 0 at byte \d+ does not belong to any of the \d+ layers META lists/);
  });

  it('a flipped bit or a cut anywhere in a version 3 file is a clear error, never anything else', () => {
    const bytes = encodeNetwork(randomHybrid(21));
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] ^= 1 << (i % 8);
      expect(errorOf(() => decodeNetwork(bad, 'x')).message).toMatch(/^x/);
    }
    for (let n = 0; n < bytes.length; n += 7) expect(errorOf(() => decodeNetwork(bytes.subarray(0, n), 'x')).message).toMatch(/^x: /);
  });

  describe('files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwgen-network-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('writeNetwork writes what readNetwork reads; readAnyBundle names the file; an invalid network leaves the old file', () => {
      const p = join(dir, 'h.hwb');
      const net = randomHybrid(11);
      writeNetwork(p, net);
      expect(readNetwork(p)).toEqual(net);
      expect(readdirSync(dir)).toEqual(['h.hwb']);
      expect(errorOf(() => readAnyBundle(p)).message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the bundle is a hybrid network of 2 segments`));
      writeFileSync(p, 'keep me');
      expect(errorOf(() => writeNetwork(p, { segments: [net.segments[1], net.segments[0]] })).message).toMatch(/cannot feed/);
      expect(readFileSync(p, 'utf8')).toBe('keep me');
      expect(readdirSync(dir)).toEqual(['h.hwb']);
    });
  });
});

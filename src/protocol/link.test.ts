import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { randInt, rng } from '../../test/helpers/random.js';
import { PACKAGE_ROOT } from '../paths.js';
import { linkMarkdown } from './emit-link.js';
import { encodeFrame, FRAME, FRAME_MAGIC, FrameParser, identityWords, parseIdentity, type Frame, type Received } from './link.js';

const frame = (type: number, seq: number, ...payload: number[]): Frame => ({ type, seq, payload: Uint32Array.from(payload) });
const good = (r: Received[]) => r.filter((x) => x.ok).map((x) => (x as { frame: Frame }).frame);

describe('link frames', () => {
  it('lays a frame out as documented: magic, type | seq | words, payload, CRC-32 of all before it', () => {
    const bytes = encodeFrame(frame(FRAME.COMMAND, 0x5a, 0x01020304, 0xdeadbeef));
    const dv = new DataView(bytes.buffer);
    expect(bytes.length).toBe(20);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('HWLK');
    expect(dv.getUint32(0, true)).toBe(FRAME_MAGIC);
    expect(dv.getUint32(4, true)).toBe((2 << 16) | (0x5a << 8) | FRAME.COMMAND);
    expect([dv.getUint32(8, true), dv.getUint32(12, true)]).toEqual([0x01020304, 0xdeadbeef]);
    expect(dv.getUint32(16, true)).toBe(crc32(bytes.subarray(0, 16)));
  });

  it('finds every frame among garbage, frames split anywhere, and reports damaged ones without losing the next', () => {
    const r = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const sent: Frame[] = [];
      const chunks: number[] = [];
      let damaged = 0;
      for (let k = 0; k < 8; k++) {
        // Garbage that cannot hold a magic word (no 'H').
        for (let g = randInt(r, 0, 9); g > 0; g--) chunks.push(randInt(r, 0x49, 0xff));
        const f = frame(randInt(r, 1, 4), randInt(r, 0, 255), ...Array.from({ length: randInt(r, 0, 12) }, () => randInt(r, 0, 0xffffffff)));
        const bytes = encodeFrame(f);
        if (r() < 0.2) {
          // Flip a bit after the magic: the receiver must report it and still find the frame after it.
          bytes[randInt(r, 4, bytes.length - 1)] ^= 1 << randInt(r, 0, 7);
          damaged++;
        } else sent.push(f);
        chunks.push(...bytes);
      }
      chunks.push(...encodeFrame(frame(FRAME.STATUS, 0)));
      sent.push(frame(FRAME.STATUS, 0));
      const p = new FrameParser(64);
      const got: Received[] = [];
      const all = Uint8Array.from(chunks);
      for (let at = 0; at < all.length; ) {
        const n = randInt(r, 1, 40);
        got.push(...p.push(all.subarray(at, at + n)));
        at += n;
      }
      // A damaged length may promise more than was sent: the link going quiet gives that frame up.
      while (p.pending >= 8) got.push(...p.skip());
      expect(good(got)).toEqual(sent);
      expect(got.filter((x) => !x.ok).length).toBeGreaterThanOrEqual(damaged > 0 ? 1 : 0);
    }
  });

  it('refuses a length beyond its buffer at once, and a frame cut short is given up by skip()', () => {
    const p = new FrameParser(4); // a frame of 4 payload words is 28 bytes
    const long = encodeFrame(frame(FRAME.COMMAND, 1, 1, 2, 3, 4, 5));
    const next = encodeFrame(frame(FRAME.COMMAND, 2, 9));
    const got = p.push(Uint8Array.from([...long.subarray(0, 12), ...next]));
    expect(got[0]).toEqual({ ok: false, type: FRAME.COMMAND, seq: 1, reason: 'length' });
    expect(good(got)).toEqual([frame(FRAME.COMMAND, 2, 9)]);

    const cut = encodeFrame(frame(FRAME.COMMAND, 3, 7, 7, 7, 7));
    expect(p.push(Uint8Array.from([...cut.subarray(0, 10), ...next]))).toEqual([]);
    expect(good(p.skip())).toEqual([frame(FRAME.COMMAND, 2, 9)]);
    expect(p.pending).toBe(0);
  });

  it('docs/protocol.md is what npm run docs writes now', () => {
    expect(readFileSync(join(PACKAGE_ROOT, 'docs', 'protocol.md'), 'utf8')).toBe(linkMarkdown());
  });

  it('carries an identity and reads it back', () => {
    const id = { linkVersion: 1, hwgenVersion: '0.1.0', configHash: '0a1b2c3d', engine: 'eie', clockHz: 100_000_000, maxPayloadWords: 256, config: [16, 4, 4, 8] };
    expect(parseIdentity(identityWords(id))).toEqual(id);
    expect(() => parseIdentity(Uint32Array.from([1, 2, 3]))).toThrow(RangeError);
  });
});

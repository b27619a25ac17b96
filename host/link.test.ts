import { describe, expect, it } from 'vitest';
import { faultInjector, ShellDouble, transportPair } from '../test/helpers/link-doubles.js';
import { rng, randInt } from '../test/helpers/random.js';
import { encodeFrame, FRAME, FrameParser, type Frame } from '../src/protocol/link.js';
import type { Transport } from './transport.js';
import { Link, LinkError } from './link.js';

// The far end answers a COMMAND with a checksum of its payload and a running count, so a wrong, lost or
// doubly executed request shows in the answers.
const answer = (p: Uint32Array, n: number) => Uint32Array.from([p.reduce((s, w) => (s * 31 + w) >>> 0, 7), n, p.length]);

function setup(opts: { rate?: number; seed?: number; delayMs?: number; window?: number; timeoutMs?: number; tries?: number } = {}) {
  const [host, board] = transportPair();
  let count = 0;
  const shell = new ShellDouble(board, (p) => answer(p, ++count));
  if (opts.rate) {
    host.fault = faultInjector(opts.seed ?? 1, opts.rate);
    board.fault = faultInjector((opts.seed ?? 1) + 1000, opts.rate);
  }
  host.delayMs = board.delayMs = opts.delayMs ?? 0;
  const link = new Link(host, { timeoutMs: opts.timeoutMs ?? 40, window: opts.window ?? 4, tries: opts.tries ?? 12 });
  return { host, board, shell, link };
}

describe('the link layer (against a protocol double; the shell RTL is tested in its own suite)', () => {
  it('answers every request in order on a clean link, with no retries, several write-only frames in flight', async () => {
    const { link, shell } = setup({ delayMs: 2, timeoutMs: 5000 });
    const r = rng(3);
    const payloads = Array.from({ length: 60 }, () => Uint32Array.from({ length: randInt(r, 0, 200) }, () => randInt(r, 0, 0xffffffff)));
    const answers = await Promise.all(payloads.map((p) => link.request(FRAME.COMMAND, p, { idempotent: true })));
    answers.forEach((a, i) => expect(a.subarray(0, 1)).toEqual(answer(payloads[i], 0).subarray(0, 1)));
    expect(shell.executed).toBe(60);
    expect(link.stats.retries).toBe(0);
    const efficiency = link.stats.payloadBytesSent / link.stats.bytesSent;
    expect(efficiency).toBeGreaterThan(0.9);
    await link.close();
  });

  it('with 1% of bytes dropped, flipped or doubled both ways, every request completes right and a non-idempotent one runs once', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { link, shell } = setup({ rate: 0.01, seed, timeoutMs: 30, tries: 30 });
      const r = rng(seed);
      for (let k = 0; k < 30; k++) {
        const p = Uint32Array.from({ length: randInt(r, 1, 16) }, () => randInt(r, 0, 0xffffffff));
        const a = await link.request(FRAME.COMMAND, p);
        // Alone on the link and answered from the stored reply when resent: executed exactly once, in order.
        expect(Array.from(a)).toEqual(Array.from(answer(p, k + 1)));
      }
      expect(shell.executed).toBe(30);
      expect(link.stats.retries).toBeGreaterThan(0);
      await link.close();
    }
  }, 60_000);

  it('gives up within its tries on a dead link, with a message that says what to check', async () => {
    const { link, host } = setup({ timeoutMs: 10, tries: 3 });
    host.fault = () => [];
    const t0 = performance.now();
    await expect(link.request(FRAME.COMMAND, Uint32Array.of(1))).rejects.toThrow(/no good answer to request 0 after 3 tries; check the cable, the port, the baud rate/);
    expect(performance.now() - t0).toBeLessThan(1000);
    await link.close();
  });

  it('fails every request in flight and queued when the far end goes away, and refuses new ones', async () => {
    const { link, board } = setup({ timeoutMs: 1000 });
    board.fault = () => [];
    const pending = [1, 2, 3, 4, 5, 6].map((n) => link.request(FRAME.COMMAND, Uint32Array.of(n), { idempotent: n < 6 }));
    board.hangUp();
    for (const p of pending) await expect(p).rejects.toThrow(LinkError);
    await expect(link.request(FRAME.COMMAND, Uint32Array.of(9))).rejects.toThrow(/the link closed \(the far end hung up\)/);
  });

  it('reports a refusal the board explains (a frame longer than its buffer) at once', async () => {
    const { link } = setup();
    link.maxPayloadWords = 256;
    await expect(link.request(FRAME.COMMAND, new Uint32Array(300))).rejects.toThrow(/refused request 0 .*longer than the board's frame buffer/);
    // Before IDENTIFY tells the size, TOO_LONG may be a damaged length: resent, then reported with the reason.
    const unsure = setup({ timeoutMs: 5, tries: 2 }).link;
    await expect(unsure.request(FRAME.COMMAND, new Uint32Array(300))).rejects.toThrow(/after 2 tries \(the last answer: the frame is longer than the board's frame buffer/);
    await link.close();
  });
});

/** A far end the test scripts frame by frame: what the link sent, and replies sent when the test says. */
function scripted() {
  const parser = new FrameParser();
  let deliver: (b: Uint8Array) => void = () => {};
  const far = {
    onRequest: (_f: Frame) => {},
    reply: (seq: number, payload: number[]) => deliver(encodeFrame({ type: FRAME.ACK, seq, payload: Uint32Array.from(payload) })),
    send: (bytes: Uint8Array) => deliver(bytes),
    transport: {
      name: 'scripted',
      write: async (bytes) => {
        for (const r of parser.push(bytes)) if (r.ok) queueMicrotask(() => far.onRequest(r.frame));
      },
      onData: (fn) => (deliver = fn),
      onClose: () => {},
      close: async () => {},
    } as Transport,
  };
  return far;
}

describe('the link matches replies to requests by number and frame, and never reuses a number a reply may still come for', () => {
  it('a request waiting long while hundreds of others pass keeps its number: no other takes it, and it still gets its own answer', async () => {
    const far = scripted();
    const link = new Link(far.transport, { timeoutMs: 20, window: 4, tries: 10_000, deadMs: 60_000 });
    let slowSeq = -1;
    far.onRequest = (f) => (f.payload[0] === 0xa ? (slowSeq = f.seq) : far.reply(f.seq, [f.payload[0] + 1]));
    const slow = link.request(FRAME.COMMAND, Uint32Array.of(0xa), { idempotent: true });
    const others = await Promise.all(Array.from({ length: 600 }, (_, i) => link.request(FRAME.COMMAND, Uint32Array.of(1000 + i), { idempotent: true })));
    expect(others.map((a) => a[0])).toEqual(Array.from({ length: 600 }, (_, i) => 1001 + i));
    far.reply(slowSeq, [0xb]);
    expect(Array.from(await slow)).toEqual([0xb]);
    await link.close();
  });

  it("a late duplicate of an old reply that arrives when its number is in use again is not taken for the new request's", async () => {
    const far = scripted();
    const link = new Link(far.transport, { timeoutMs: 1000, window: 1, tries: 3 });
    // Each request's answer is its payload and a tag; the request says which tag is its own.
    const ask = (n: number) => link.request(FRAME.COMMAND, Uint32Array.of(n), { accept: (w) => w.length === 2 && w[0] === n });
    let stale: { seq: number; payload: number[] } | undefined;
    let reused = false;
    far.onRequest = (f) => {
      if (f.payload[0] === 0) stale = { seq: f.seq, payload: [0, 0x5ca1e] };
      else if (stale && f.seq === stale.seq) {
        // The old request's second reply (it was sent twice) comes just before the answer of the new one.
        far.reply(stale.seq, stale.payload);
        reused = true;
      }
      far.reply(f.seq, [f.payload[0], 7]);
    };
    for (let n = 0; n < 300; n++) expect(Array.from(await ask(n))).toEqual([n, 7]);
    expect(reused).toBe(true);
    expect(link.stats.staleReplies).toBe(1);
    await link.close();
  });

  it('a far end that answers nothing is reported dead within the bound, whatever the tries left; garbage is named; an echo at once', async () => {
    const silent = scripted();
    const link = new Link(silent.transport, { timeoutMs: 100, tries: 1000, deadMs: 600 });
    const t0 = performance.now();
    await expect(link.request(FRAME.COMMAND, Uint32Array.of(1))).rejects.toThrow(/the link is dead: nothing came back for 0\.[67] s .*check the cable/);
    expect(performance.now() - t0).toBeLessThan(900);
    await expect(link.request(FRAME.COMMAND, Uint32Array.of(2))).rejects.toThrow(/the link is dead/);

    const noisy = scripted();
    noisy.onRequest = () => noisy.send(Uint8Array.from({ length: 50 }, (_, i) => (i * 37) & 0xff));
    const garbage = new Link(noisy.transport, { timeoutMs: 100, tries: 1000, deadMs: 600 });
    await expect(garbage.request(FRAME.IDENTIFY)).rejects.toThrow(/the link is dead: no frame came back for 0\.6 s \(\d+ bytes of something else\)/);

    const mirror = scripted();
    mirror.onRequest = (f) => mirror.send(encodeFrame(f));
    const echo = new Link(mirror.transport, { timeoutMs: 1000, tries: 3 });
    const t1 = performance.now();
    await expect(echo.request(FRAME.IDENTIFY)).rejects.toThrow(/sent a IDENTIFY request back: it echoes what it receives/);
    expect(performance.now() - t1).toBeLessThan(200);
  });

  it("never sends a COMMAND with the number whose reply the board kept from an earlier session before one of ours is answered", async () => {
    const far = scripted();
    const link = new Link(far.transport, { timeoutMs: 1000, window: 4 });
    // STATUS said lastSeq 0: the board would answer a COMMAND numbered 0 from the reply it kept.
    link.avoid(0);
    const seen: number[] = [];
    far.onRequest = (f) => (seen.push(f.seq), far.reply(f.seq, [f.payload[0]]));
    const answers = await Promise.all(Array.from({ length: 300 }, (_, n) => link.request(FRAME.COMMAND, Uint32Array.of(n), { idempotent: true })));
    expect(answers.map((a) => a[0])).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect(seen[0]).toBe(1);
    // 0 comes round again only after the board has answered COMMANDs of ours.
    expect(seen.indexOf(0)).toBeGreaterThan(200);
    await link.close();
  });
});

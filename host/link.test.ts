import { describe, expect, it } from 'vitest';
import { faultInjector, ShellDouble, transportPair } from '../test/helpers/link-doubles.js';
import { rng, randInt } from '../test/helpers/random.js';
import { FRAME } from '../src/protocol/link.js';
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

import type { Transport } from './transport.js';

/**
 * A seeded byte-level fault injector for testing the link on its real paths: between two ptys (a driver on one
 * pty pair, a board on another) or between the driver and a board's byte pipe. Each byte is, at `rate` in all,
 * dropped, flipped (one bit), doubled, or delayed (the stream pauses before it, so order is kept, as on a
 * serial line whose far end stalls), the four equally often. The same seed gives the same faults.
 */
export interface FaultOptions {
  seed: number;
  /** Share of the bytes faulted, each direction (0.01: 1%). */
  rate: number;
  /** The longest pause of a delayed byte, in milliseconds (default 20). */
  maxDelayMs?: number;
}

/** What a direction did to the bytes that crossed it. */
export interface FaultCounts {
  bytes: number;
  dropped: number;
  flipped: number;
  doubled: number;
  delayed: number;
}

/** A run of bytes to deliver after a pause. */
export interface Piece {
  delayMs: number;
  bytes: Uint8Array;
}

/** A small seeded generator (mulberry32): the proxy must not depend on test helpers. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction's faults: bytes in, pieces out (split at random too, so frames arrive in chunks of any size). */
export function faultInjector(opts: FaultOptions): { apply: (bytes: Uint8Array) => Piece[]; counts: FaultCounts } {
  const r = random(opts.seed);
  const maxDelay = opts.maxDelayMs ?? 20;
  const counts: FaultCounts = { bytes: 0, dropped: 0, flipped: 0, doubled: 0, delayed: 0 };
  const apply = (bytes: Uint8Array): Piece[] => {
    const pieces: Piece[] = [];
    let run: number[] = [];
    let delay = 0;
    const cut = (nextDelay: number) => {
      if (!run.length) return void (delay += nextDelay);
      pieces.push({ delayMs: delay, bytes: Uint8Array.from(run) });
      run = [];
      delay = nextDelay;
    };
    for (const b of bytes) {
      counts.bytes++;
      const x = r() / opts.rate;
      if (x < 0.25) counts.dropped++;
      else if (x < 0.5) (counts.flipped++, run.push(b ^ (1 << Math.floor(r() * 8))));
      else if (x < 0.75) (counts.doubled++, run.push(b, b));
      else if (x < 1) (counts.delayed++, cut(1 + Math.floor(r() * maxDelay)), run.push(b));
      else run.push(b);
      if (run.length && r() < 1 / 32) cut(0);
    }
    cut(0);
    return pieces;
  };
  return { apply, counts };
}

/** Delivers pieces in order, each after its pause. */
function sender(deliver: (bytes: Uint8Array) => Promise<void> | void): (pieces: Piece[]) => void {
  let tail = Promise.resolve();
  return (pieces) => {
    for (const p of pieces) {
      tail = tail.then(async () => {
        if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
        await deliver(p.bytes);
      }).catch(() => {}); // a far end that went away: its own close is reported
    }
  };
}

/**
 * Carries bytes both ways between two open transports (e.g. the far ends of two socat pty pairs), faulting
 * each direction from its own seed. Returns the counts of each direction and a close that releases both.
 */
export function faultProxy(host: Transport, board: Transport, opts: FaultOptions): { toBoard: FaultCounts; toHost: FaultCounts; close: () => Promise<void> } {
  const down = faultInjector(opts);
  const up = faultInjector({ ...opts, seed: opts.seed + 7919 });
  const toBoard = sender((b) => board.write(b));
  const toHost = sender((b) => host.write(b));
  host.onData((b) => toBoard(down.apply(b)));
  board.onData((b) => toHost(up.apply(b)));
  return { toBoard: down.counts, toHost: up.counts, close: async () => void (await Promise.all([host.close(), board.close()])) };
}

/** A transport with faults injected both ways (each direction from its own seed): between the driver and a board. */
export function faulty(inner: Transport, opts: FaultOptions): Transport {
  const out = faultInjector(opts);
  const back = faultInjector({ ...opts, seed: opts.seed + 7919 });
  const toBoard = sender((b) => inner.write(b));
  const listeners: ((b: Uint8Array) => void)[] = [];
  const toHost = sender((b) => listeners.forEach((fn) => fn(b)));
  inner.onData((b) => toHost(back.apply(b)));
  return {
    name: inner.name,
    write: async (bytes) => toBoard(out.apply(bytes)),
    onData: (fn) => listeners.push(fn),
    onClose: (fn) => inner.onClose(fn),
    close: () => inner.close(),
  };
}

import { HwgenError } from '../src/errors.js';
import { encodeFrame, FRAME, FrameParser, NAK, NAK_MEANING, type Received } from '../src/protocol/link.js';
import type { Transport } from './transport.js';

/**
 * The host side of the link protocol (docs/protocol.md): numbers requests, sends them as frames, matches
 * replies by sequence number, resends on NAK or timeout with growing waits and a bounded number of tries,
 * and keeps several write-only frames in flight so the link stays busy. It never waits without a timer and
 * never leaves a request unanswered: every request resolves with its reply's payload or rejects with a
 * LinkError that says what to check.
 */
export interface LinkOptions {
  /** Milliseconds to wait for a reply before resending. */
  timeoutMs: number;
  /** Tries per request (the first send included). */
  tries: number;
  /** Each retry waits this much longer than the one before (the timeout is multiplied by it), up to 8 timeouts. */
  backoff: number;
  /** Write-only requests in flight at once. */
  window: number;
}

export const DEFAULT_LINK: LinkOptions = { timeoutMs: 500, tries: 6, backoff: 1.5, window: 8 };

export class LinkError extends HwgenError {
  /** The request got no good answer within its tries (the link is noisy or dead), as opposed to a refusal or a closed link. */
  noAnswer = false;
}

/** What crossed the link so far: for the summary a command prints and for bench/host. */
export interface LinkStats {
  requests: number;
  /** Frames sent again after a NAK or a timeout. */
  retries: number;
  bytesSent: number;
  bytesReceived: number;
  /** Payload bytes of the requests (what the board needed), for the payload efficiency. */
  payloadBytesSent: number;
  /** Replies that came damaged, or were for no request in flight (late answers to a resent frame). */
  badReplies: number;
}

interface Pending {
  type: number;
  seq: number;
  payloadWords: number;
  /** The board's last refusal, for the message if the tries run out. */
  lastNak?: number;
  /** Where the caller wants the number of sends (retransmissions show as more than 1). */
  counter?: { count: number };
  /** Tries for this request, when not the link's. */
  maxTries?: number;
  frame: Uint8Array;
  tries: number;
  timer?: NodeJS.Timeout;
  waitMs: number;
  resolve: (payload: Uint32Array) => void;
  reject: (e: Error) => void;
}

export class Link {
  readonly stats: LinkStats = { requests: 0, retries: 0, bytesSent: 0, bytesReceived: 0, payloadBytesSent: 0, badReplies: 0 };
  private readonly opts: LinkOptions;
  private readonly parser = new FrameParser();
  private readonly inFlight = new Map<number, Pending>();
  private nextSeq = 0;
  private closed?: Error;
  /** Requests waiting for room in the window, or for the link to drain before a request that must go alone. */
  private readonly queue: { run: () => void; alone: boolean; reject: (e: Error) => void }[] = [];
  private aloneInFlight = false;
  /** The board's frame buffer in words, once IDENTIFY has told it. */
  maxPayloadWords?: number;

  constructor(
    private readonly transport: Transport,
    opts: Partial<LinkOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LINK, ...opts };
    transport.onData((bytes) => this.receive(bytes));
    transport.onClose((err) => this.fail(new LinkError(`${transport.name}: the link closed (${err.message}); check the board and open the device again`)));
  }

  /**
   * Sends one request and resolves with its ACK payload. `idempotent` requests (frames that only write) may
   * share the link with others in flight; any other request waits until the link is empty and goes alone,
   * so the shell's one stored reply makes its retransmission safe.
   */
  request(type: number, payload: Uint32Array = new Uint32Array(0), opts: { idempotent?: boolean; tries?: { count: number }; maxTries?: number } = {}): Promise<Uint32Array> {
    if (this.closed) return Promise.reject(this.closed);
    const alone = !opts.idempotent;
    return new Promise((resolve, reject) => {
      const run = () => {
        const seq = this.nextSeq;
        this.nextSeq = (this.nextSeq + 1) & 0xff;
        const p: Pending = {
          type, seq, payloadWords: payload.length, frame: encodeFrame({ type, seq, payload }), tries: 0, waitMs: this.opts.timeoutMs, resolve, reject,
          counter: opts.tries, maxTries: opts.maxTries,
        };
        this.aloneInFlight = alone;
        this.inFlight.set(seq, p);
        this.stats.requests++;
        this.stats.payloadBytesSent += payload.length * 4;
        this.send(p);
      };
      this.queue.push({ run, alone, reject });
      this.pump();
    });
  }

  get name(): string {
    return this.transport.name;
  }

  /** Write-only requests in flight at once. */
  get window(): number {
    return this.opts.window;
  }

  /** Rejects every request in flight and releases the transport. */
  async close(): Promise<void> {
    if (!this.closed) this.fail(new LinkError(`${this.transport.name}: the link was closed`));
    await this.transport.close();
  }

  /** Starts queued requests while the window has room and nothing that must go alone is in flight. */
  private pump(): void {
    while (this.queue.length && !this.closed) {
      const next = this.queue[0];
      if (this.aloneInFlight && this.inFlight.size) return;
      if (next.alone ? this.inFlight.size > 0 : this.inFlight.size >= this.opts.window) return;
      this.queue.shift();
      next.run();
    }
  }

  private send(p: Pending): void {
    if (p.tries >= (p.maxTries ?? this.opts.tries)) {
      const nak = p.lastNak === undefined ? '' : ` (the last answer: ${nakText(p.lastNak)})`;
      const err = new LinkError(
        `${this.transport.name}: no good answer to request ${p.seq} after ${p.tries} tries${nak}; check the cable, the port, the baud rate and that the board carries an hwgen build`,
      );
      err.noAnswer = true;
      this.settle(p, err);
      return;
    }
    if (p.tries > 0) this.stats.retries++;
    p.tries++;
    if (p.counter) p.counter.count = p.tries;
    this.stats.bytesSent += p.frame.length;
    this.transport.write(p.frame).catch((e: Error) => this.fail(new LinkError(`${this.transport.name}: cannot write (${e.message})`)));
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.timeout(p), p.waitMs);
    p.waitMs = Math.min(p.waitMs * this.opts.backoff, 8 * this.opts.timeoutMs);
  }

  private timeout(p: Pending): void {
    // A frame cut short by a lost byte never completes: give it up and look at what came after it.
    for (const r of this.parser.skip()) this.handle(r);
    if (this.inFlight.get(p.seq) === p) this.send(p);
  }

  private receive(bytes: Uint8Array): void {
    this.stats.bytesReceived += bytes.length;
    for (const r of this.parser.push(bytes)) this.handle(r);
  }

  private handle(r: Received): void {
    const p = this.inFlight.get(r.ok ? r.frame.seq : r.seq);
    if (!r.ok || !p) {
      this.stats.badReplies++;
      // A damaged reply to a request in flight: ask again at once rather than wait for the timer.
      if (!r.ok && p) this.send(p);
      return;
    }
    const { type, payload } = r.frame;
    if (type === FRAME.ACK) return this.settle(p, payload);
    if (type !== FRAME.NAK) {
      this.stats.badReplies++;
      return;
    }
    const reason = payload[0];
    p.lastNak = reason;
    // TOO_LONG can also answer a frame whose length field was damaged on the way: final only when the frame
    // really is longer than the board's buffer.
    const tooLong = reason === NAK.TOO_LONG && this.maxPayloadWords !== undefined && p.payloadWords > this.maxPayloadWords;
    if (reason === NAK.BAD_CRC || reason === NAK.BUSY || (reason === NAK.TOO_LONG && !tooLong)) return this.send(p);
    this.settle(p, new LinkError(`${this.transport.name}: the board refused request ${p.seq} (type ${p.type}): ${nakText(reason)}`));
  }

  private settle(p: Pending, result: Uint32Array | Error): void {
    clearTimeout(p.timer);
    this.inFlight.delete(p.seq);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
    if (!this.inFlight.size) this.aloneInFlight = false;
    this.pump();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const p of [...this.inFlight.values()]) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.inFlight.clear();
    // Requests that never started fail the same way.
    for (const q of this.queue.splice(0)) q.reject(err);
  }
}

function nakText(reason: number): string {
  const name = (Object.keys(NAK) as (keyof typeof NAK)[]).find((k) => NAK[k] === reason);
  return name ? NAK_MEANING[name] : `unknown NAK reason ${reason}`;
}

import { HwgenError } from '../src/errors.js';
import { encodeFrame, FRAME, FrameParser, IDENTITY_FIELDS, NAK, NAK_MEANING, STATUS_FIELDS, type Received } from '../src/protocol/link.js';
import type { Transport } from './transport.js';

/**
 * The host side of the link protocol (docs/protocol.md): numbers requests, sends them as frames, matches
 * replies by sequence number and by shape, resends on NAK or timeout with a bounded number of tries, and keeps
 * several write-only frames in flight so the link stays busy. A number is never reused while its request is in
 * flight or a reply to it may still come. It never waits without a timer and never leaves a request
 * unanswered: every request resolves with its reply's payload or rejects with a LinkError that says what to
 * check, at the latest when the far end has sent no frame for the dead-link bound.
 */
export interface LinkOptions {
  /** Milliseconds to wait for a reply before resending. */
  timeoutMs: number;
  /**
   * Tries per request (the first send included). A noisy link that still answers gets them all; a link that
   * answers nothing at all is declared dead sooner (deadMs).
   */
  tries: number;
  /** While no frame comes back, each retry waits this much longer than the one before, up to deadMs. */
  backoff: number;
  /** Write-only requests in flight at once. */
  window: number;
  /**
   * Milliseconds without one frame from the far end (good or damaged), while a request waits, after which the link is dead
   * and every request fails (default: the timeout and 4 s more: a simulated board behind a pty needs a second or
   * more of quiet to give up a frame whose length was damaged).
   */
  deadMs?: number;
}

export const DEFAULT_LINK: LinkOptions = { timeoutMs: 500, tries: 40, backoff: 1.5, window: 8 };

/** How much longer than one reply timeout a far end may stay silent before the link counts as dead. */
const DEAD_AFTER_TIMEOUT_MS = 4000;

/** The dead-link bound of a set of options. */
export function deadMsOf(o: Pick<LinkOptions, 'timeoutMs' | 'deadMs'>): number {
  return o.deadMs ?? o.timeoutMs + DEAD_AFTER_TIMEOUT_MS;
}

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
  /** Good replies whose sequence number was in flight but whose frame did not answer that request (stale). */
  staleReplies: number;
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
  /** Whether a reply's payload can answer this request (its shape): a reply that cannot is stale, not ours. */
  accept?: (payload: Uint32Array) => boolean;
  frame: Uint8Array;
  tries: number;
  /** Link-wide numbers of this request's first and latest send (the order they went out in). */
  firstSend: number;
  lastSend: number;
  firstSentAt: number;
  timer?: NodeJS.Timeout;
  waitMs: number;
  resolve: (payload: Uint32Array) => void;
  reject: (e: Error) => void;
}

export class Link {
  readonly stats: LinkStats = { requests: 0, retries: 0, bytesSent: 0, bytesReceived: 0, payloadBytesSent: 0, badReplies: 0, staleReplies: 0 };
  private readonly opts: LinkOptions;
  private readonly deadMs: number;
  private readonly parser = new FrameParser();
  private readonly inFlight = new Map<number, Pending>();
  private nextSeq = 0;
  /** Sends so far: each send's number orders it against the others. */
  private sends = 0;
  /**
   * Settled sequence numbers whose replies may still be on the way, with their last send's number. The far
   * end answers in the order frames arrive, so once a COMMAND or IDENTIFY first sent after that send has been
   * answered, no reply to it can come any more (answeredFloor), and the number may be used again.
   */
  private readonly retired = new Map<number, { lastSend: number; at: number }>();
  private answeredFloor = 0;
  private retryPump?: NodeJS.Timeout;
  /** When the far end last sent a frame (good or damaged), and the bytes since then that formed none. */
  private lastFrameAt = performance.now();
  private bytesSinceFrame = 0;
  private closed?: Error;
  /** Requests waiting for room in the window, or for the link to drain before a request that must go alone. */
  private readonly queue: { run: (seq: number) => void; alone: boolean; reject: (e: Error) => void }[] = [];
  private aloneInFlight = false;
  /** The board's frame buffer in words, once IDENTIFY has told it. */
  maxPayloadWords?: number;

  constructor(
    private readonly transport: Transport,
    opts: Partial<LinkOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LINK, ...opts };
    this.deadMs = deadMsOf(this.opts);
    transport.onData((bytes) => this.receive(bytes));
    transport.onClose((err) => this.fail(new LinkError(`${transport.name}: the link closed (${err.message}); check the board and open the device again`)));
  }

  /**
   * Sends one request and resolves with its ACK payload. `idempotent` requests (frames that only write) may
   * share the link with others in flight; any other request waits until the link is empty and goes alone,
   * so the shell's one stored reply makes its retransmission safe.
   */
  request(
    type: number,
    payload: Uint32Array = new Uint32Array(0),
    opts: { idempotent?: boolean; tries?: { count: number }; maxTries?: number; accept?: (payload: Uint32Array) => boolean } = {},
  ): Promise<Uint32Array> {
    if (this.closed) return Promise.reject(this.closed);
    const alone = !opts.idempotent;
    return new Promise((resolve, reject) => {
      const run = (seq: number) => {
        const p: Pending = {
          type, seq, payloadWords: payload.length, frame: encodeFrame({ type, seq, payload }), tries: 0, waitMs: this.opts.timeoutMs, resolve, reject,
          counter: opts.tries, maxTries: opts.maxTries, accept: opts.accept ?? ACCEPT[type], firstSend: 0, lastSend: 0, firstSentAt: 0,
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

  /**
   * The board kept the reply of COMMAND `seq` from an earlier session (STATUS's lastSeq): never send a COMMAND
   * with that number before one of ours has been answered, or the board would answer it from that reply.
   */
  avoid(seq: number): void {
    this.retired.set(seq & 0xff, { lastSend: this.sends, at: performance.now() });
    this.nextSeq = (seq + 1) & 0xff;
  }

  /** Starts queued requests while the window has room and nothing that must go alone is in flight. */
  private pump(): void {
    while (this.queue.length && !this.closed) {
      const next = this.queue[0];
      if (this.aloneInFlight && this.inFlight.size) return;
      if (next.alone ? this.inFlight.size > 0 : this.inFlight.size >= this.opts.window) return;
      const seq = this.freeSeq();
      if (seq === undefined) {
        // Every number may still have a reply on the way (a pathological link): try again when the oldest is old enough.
        this.retryPump ??= setTimeout(() => ((this.retryPump = undefined), this.pump()), this.opts.timeoutMs);
        return;
      }
      this.queue.shift();
      next.run(seq);
    }
  }

  /** The next sequence number that is not in flight and to which no reply can still come. */
  private freeSeq(): number | undefined {
    const now = performance.now();
    for (let k = 0; k < 256; k++) {
      const seq = (this.nextSeq + k) & 0xff;
      if (this.inFlight.has(seq)) continue;
      const r = this.retired.get(seq);
      // A reply later than the dead-link bound would have failed the link anyway.
      if (r && r.lastSend >= this.answeredFloor && now - r.at < this.deadMs) continue;
      this.retired.delete(seq);
      this.nextSeq = (seq + 1) & 0xff;
      return seq;
    }
    return undefined;
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
    const now = performance.now();
    if (p.tries > 0) this.stats.retries++;
    else p.firstSentAt = now;
    p.tries++;
    p.lastSend = ++this.sends;
    if (p.tries === 1) p.firstSend = p.lastSend;
    if (p.counter) p.counter.count = p.tries;
    this.stats.bytesSent += p.frame.length;
    this.transport.write(p.frame).catch((e: Error) => this.fail(new LinkError(`${this.transport.name}: cannot write (${e.message})`)));
    clearTimeout(p.timer);
    // Waits grow only while no frame comes back (a far end that is busy or gone); a noisy link that answers
    // is retried at the plain timeout. Never past the dead-link bound, so that a dead link is found in time.
    const silent = this.lastFrameAt < p.firstSentAt;
    p.waitMs = p.tries === 1 || !silent ? this.opts.timeoutMs : Math.min(p.waitMs * this.opts.backoff, this.deadMs / 2);
    const toDead = this.deadMs - (now - Math.max(this.lastFrameAt, p.firstSentAt));
    p.timer = setTimeout(() => this.timeout(p), Math.max(1, Math.min(p.waitMs, toDead)));
  }

  private timeout(p: Pending): void {
    // A frame cut short by a lost byte never completes: give it up and look at what came after it.
    for (const r of this.parser.skip()) this.handle(r);
    if (this.inFlight.get(p.seq) !== p) return;
    const quiet = performance.now() - Math.max(this.lastFrameAt, p.firstSentAt);
    if (quiet >= this.deadMs) {
      const what = this.bytesSinceFrame ? `no frame came back for ${(quiet / 1000).toFixed(1)} s (${this.bytesSinceFrame} bytes of something else)` : `nothing came back for ${(quiet / 1000).toFixed(1)} s`;
      const err = new LinkError(
        `${this.transport.name}: the link is dead: ${what} (request ${p.seq}, ${p.tries} tries); ` +
          'check the cable, the port, the baud rate and that the board carries an hwgen build',
      );
      err.noAnswer = true;
      return this.fail(err);
    }
    this.send(p);
  }

  private receive(bytes: Uint8Array): void {
    this.stats.bytesReceived += bytes.length;
    this.bytesSinceFrame += bytes.length;
    for (const r of this.parser.push(bytes)) this.handle(r);
  }

  private handle(r: Received): void {
    if (this.closed) return;
    // Any frame, even a damaged one (its magic and header came through), shows a far end that speaks the
    // protocol over a noisy line: only silence or bytes that never form a frame make a link dead.
    this.lastFrameAt = performance.now();
    this.bytesSinceFrame = 0;
    if (r.ok) {
      if (r.frame.type !== FRAME.ACK && r.frame.type !== FRAME.NAK) {
        // Requests coming back: a loopback, or a far end that echoes what it gets. No board does that.
        const name = (Object.keys(FRAME) as (keyof typeof FRAME)[]).find((k) => FRAME[k] === r.frame.type) ?? `type 0x${r.frame.type.toString(16)}`;
        return this.fail(new LinkError(`${this.transport.name}: the far end sent a ${name} request back: it echoes what it receives (a loopback?), it is not an hwgen board`));
      }
    }
    const p = this.inFlight.get(r.ok ? r.frame.seq : r.seq);
    if (!r.ok || !p) {
      this.stats.badReplies++;
      // A damaged reply to a request in flight: ask again at once rather than wait for the timer.
      if (!r.ok && p) this.send(p);
      return;
    }
    const { type, payload } = r.frame;
    if (type === FRAME.ACK) {
      // Matched by number and by frame: an answer of another shape is a late reply to an earlier request.
      if (p.accept && !p.accept(payload)) {
        this.stats.staleReplies++;
        return;
      }
      if (p.type !== FRAME.STATUS) this.answeredFloor = Math.max(this.answeredFloor, p.firstSend);
      return this.settle(p, payload);
    }
    const reason = payload[0];
    p.lastNak = reason;
    // TOO_LONG can also answer a frame whose length field was damaged on the way: final only when the frame
    // really is longer than the board's buffer.
    const tooLong = reason === NAK.TOO_LONG && this.maxPayloadWords !== undefined && p.payloadWords > this.maxPayloadWords;
    // BUSY: the board is still executing this request (a resend came early); its timer asks again.
    if (reason === NAK.BUSY) return;
    if (reason === NAK.BAD_CRC || (reason === NAK.TOO_LONG && !tooLong)) return this.send(p);
    this.settle(p, new LinkError(`${this.transport.name}: the board refused request ${p.seq} (type ${p.type}): ${nakText(reason)}`));
  }

  private settle(p: Pending, result: Uint32Array | Error): void {
    clearTimeout(p.timer);
    this.inFlight.delete(p.seq);
    this.retired.set(p.seq, { lastSend: p.lastSend, at: performance.now() });
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
    if (!this.inFlight.size) this.aloneInFlight = false;
    this.pump();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    clearTimeout(this.retryPump);
    for (const p of [...this.inFlight.values()]) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.inFlight.clear();
    // Requests that never started fail the same way.
    for (const q of this.queue.splice(0)) q.reject(err);
  }
}

/** The shape of each reply the link itself knows (a COMMAND's comes from the caller, who knows its commands). */
const ACCEPT: Record<number, (payload: Uint32Array) => boolean> = {
  [FRAME.IDENTIFY]: (w) => w.length >= IDENTITY_FIELDS.length && w.length === IDENTITY_FIELDS.length + w[IDENTITY_FIELDS.length - 1],
  [FRAME.STATUS]: (w) => w.length === STATUS_FIELDS.length,
  [FRAME.RESET]: (w) => w.length === 0,
};

function nakText(reason: number): string {
  const name = (Object.keys(NAK) as (keyof typeof NAK)[]).find((k) => NAK[k] === reason);
  return name ? NAK_MEANING[name] : `unknown NAK reason ${reason}`;
}

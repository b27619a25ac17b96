import type { Transport } from '../../host/transport.js';
import { encodeFrame, FRAME, FrameParser, NAK } from '../../src/protocol/link.js';
import { faultInjector as hostFaults } from '../../host/fault-proxy.js';

/**
 * Test doubles for the link layer's unit tests only (the shell's RTL is the real far end): a pair of
 * connected in-memory transports, a fault injector between them, and a far end that follows the shell's
 * rules of docs/protocol.md (the stored reply for a repeated sequence number, NAKs) over an `exec` callback.
 */
export function transportPair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport('a');
  const b = new MemoryTransport('b');
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class MemoryTransport implements Transport {
  peer?: MemoryTransport;
  /** Applied to every chunk on its way out: returns the chunks to deliver (none, damaged, doubled…). */
  fault: (bytes: Uint8Array) => Uint8Array[] = (b) => [b];
  delayMs = 0;
  private data: ((b: Uint8Array) => void)[] = [];
  private closers: ((e: Error) => void)[] = [];
  private open = true;
  constructor(readonly name: string) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.open) throw new Error('closed');
    for (const chunk of this.fault(bytes.slice())) {
      const deliver = () => this.peer?.open && this.peer.data.forEach((fn) => fn(chunk));
      if (this.delayMs) setTimeout(deliver, this.delayMs);
      else queueMicrotask(deliver);
    }
  }
  onData(fn: (b: Uint8Array) => void): void {
    this.data.push(fn);
  }
  onClose(fn: (e: Error) => void): void {
    this.closers.push(fn);
  }
  async close(): Promise<void> {
    this.open = false;
  }
  /** The far end goes away: the peer hears of it. */
  hangUp(): void {
    this.open = false;
    this.peer?.closers.forEach((fn) => fn(new Error('the far end hung up')));
  }
}

/** host/fault-proxy's faults at `rate` per byte, from a seed, delivered at once (the in-memory pair has no pauses). */
export function faultInjector(seed: number, rate: number): (bytes: Uint8Array) => Uint8Array[] {
  const { apply } = hostFaults({ seed, rate });
  return (bytes) => apply(bytes).map((p) => p.bytes);
}

/** A far end with the shell's link rules; `exec` answers a COMMAND's payload. Counts what it executed. */
export class ShellDouble {
  executed = 0;
  private parser: FrameParser;
  private last?: { seq: number; reply: Uint8Array };
  constructor(
    private readonly t: Transport,
    private readonly exec: (payload: Uint32Array) => Uint32Array,
    readonly maxPayloadWords = 256,
  ) {
    this.parser = new FrameParser(maxPayloadWords);
    t.onData((bytes) => {
      for (const r of this.parser.push(bytes)) {
        if (!r.ok) {
          if (r.reason === 'length') void this.reply(r.seq, FRAME.NAK, [NAK.TOO_LONG]);
          else void this.reply(r.seq, FRAME.NAK, [NAK.BAD_CRC]);
          continue;
        }
        const { type, seq, payload } = r.frame;
        if (type !== FRAME.COMMAND) {
          void this.reply(seq, FRAME.NAK, [NAK.BAD_TYPE]);
          continue;
        }
        if (this.last?.seq === seq) {
          void t.write(this.last.reply);
          continue;
        }
        this.executed++;
        const reply = encodeFrame({ type: FRAME.ACK, seq, payload: this.exec(payload) });
        this.last = { seq, reply };
        void t.write(reply);
      }
    });
  }
  private reply(seq: number, type: number, payload: number[]): Promise<void> {
    return this.t.write(encodeFrame({ type, seq, payload: Uint32Array.from(payload) }));
  }
}

import { crc32 } from 'node:zlib';

/**
 * The link protocol between a host and the shell on a board (docs/protocol.md): framed, CRC-checked,
 * sequence-numbered requests, each answered by one reply. Defined once here; the shell's RTL and the host
 * driver take every number from this module. Pure code: no I/O.
 *
 * A frame, in both directions, is a whole number of 32-bit little-endian words:
 *   word 0         magic FRAME_MAGIC (the bytes "HWLK"): where a receiver finds the next frame after garbage
 *   word 1         type[7:0] | seq[15:8] | words[31:16]   (words = payload length in 32-bit words)
 *   words 2 ..     the payload
 *   last word      CRC-32 (zlib's) of every byte before it, magic included
 */
export const LINK_VERSION = 1;
/** "HWLK" as a little-endian word. */
export const FRAME_MAGIC = 0x4b4c5748;
/** Header words (magic, type/seq/length) and trailer words (CRC) around a payload. */
export const FRAME_OVERHEAD_WORDS = 3;
/** The longest payload one frame header can name; a build accepts at most its own `maxPayloadWords`. */
export const MAX_PAYLOAD_WORDS = 0xffff;

/** Word 1 of a frame: type[7:0] | seq[15:8] | words[31:16] (frameHeader, parseFrameHeader). */
export const HEADER_TYPE_SHIFT = 0;
export const HEADER_SEQ_SHIFT = 8;
export const HEADER_WORDS_SHIFT = 16;

export function frameHeader(type: number, seq: number, words: number): number {
  return (((type & 0xff) << HEADER_TYPE_SHIFT) | ((seq & 0xff) << HEADER_SEQ_SHIFT) | ((words & 0xffff) << HEADER_WORDS_SHIFT)) >>> 0;
}

export function parseFrameHeader(word: number): { type: number; seq: number; words: number } {
  return { type: (word >>> HEADER_TYPE_SHIFT) & 0xff, seq: (word >>> HEADER_SEQ_SHIFT) & 0xff, words: (word >>> HEADER_WORDS_SHIFT) & 0xffff };
}

/** Request types (host to board) and reply types (board to host). */
export const FRAME = {
  /** Payload: none. ACK payload: the identity words (IDENTITY_FIELDS, then the engine's config fields). */
  IDENTIFY: 0x01,
  /** Payload: engine command words (docs/commands.md). ACK payload: their answers, in order. */
  COMMAND: 0x02,
  /** Payload: none. ACK payload: the shell's status words (STATUS_FIELDS). Answered even while a command runs. */
  STATUS: 0x03,
  /** Payload: none. Aborts a command in progress (a long RUN); the memories keep what they hold. ACK payload: none. */
  RESET: 0x04,
  /** Reply: the request was executed (or was a repeat of the last one, answered from the stored reply). */
  ACK: 0x80,
  /** Reply: the request was not executed; payload one word, a NAK code. */
  NAK: 0x81,
} as const;

/** Why a request was refused (NAK payload); NAK_MEANING says what each means, for the docs and the host's errors. */
export const NAK = {
  BAD_CRC: 0x01,
  TOO_LONG: 0x02,
  BAD_TYPE: 0x03,
  BUSY: 0x04,
  REPLY_TOO_LONG: 0x05,
  INCOMPLETE: 0x06,
  ABORTED: 0x07,
} as const;

/** Each NAK reason in words. Nothing of a refused request is executed, except where the text says so. */
export const NAK_MEANING: Record<keyof typeof NAK, string> = {
  BAD_CRC: 'the frame was damaged on the way (resend it)',
  TOO_LONG: "the frame is longer than the board's frame buffer (IDENTIFY tells its size)",
  BAD_TYPE: 'the board does not know this request type (another protocol version?)',
  BUSY: 'a COMMAND arrived while another was executing (only STATUS and RESET are taken then)',
  REPLY_TOO_LONG: "the answers overflowed the board's reply buffer (the commands before the overflow ran; read in smaller pieces)",
  INCOMPLETE: 'the payload ended inside an engine command; the engine was reset (the commands before it ran)',
  ABORTED: 'a RESET aborted the COMMAND while it executed (the commands before the abort ran)',
};

/** The CRC-32 polynomial (zlib's, reflected); init and final XOR 0xFFFFFFFF. */
export const CRC32_POLY = 0xedb88320;

/** The serial link's rate when none is given: both the UART a target builds and the driver's `serial:` URL. */
export const DEFAULT_BAUD = 3_000_000;
/** The serial link rates hwgen accepts, in bits per second: checked by `hwgen build` and by the driver's `serial:` URL. */
export const BAUD_RANGE = { min: 300, max: 20_000_000 } as const;

/** STATUS's `lastSeq` before any COMMAND was executed (or after one that was refused or aborted). */
export const NO_LAST_SEQ = 0xffffffff;

/** The first words of IDENTIFY's answer; the engine's config fields follow, in the engine's order. */
export const IDENTITY_FIELDS = ['linkVersion', 'hwgenVersion', 'configHash', 'engine', 'clockHz', 'maxPayloadWords', 'configWords'] as const;
/** STATUS's answer. */
export const STATUS_FIELDS = ['busy', 'lastSeq', 'framesOk', 'framesBad', 'cyclesBusy'] as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

export interface Frame {
  type: number;
  seq: number;
  payload: Uint32Array;
}

/** A frame's bytes (docs/protocol.md). */
export function encodeFrame(f: Frame): Uint8Array {
  if (f.payload.length > MAX_PAYLOAD_WORDS) throw new RangeError(`a frame carries at most ${MAX_PAYLOAD_WORDS} payload words, not ${f.payload.length}`);
  const words = new Uint32Array(f.payload.length + FRAME_OVERHEAD_WORDS);
  words[0] = FRAME_MAGIC;
  words[1] = frameHeader(f.type, f.seq, f.payload.length);
  words.set(f.payload, 2);
  const bytes = wordBytes(words);
  new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

/** Little-endian bytes of words (the frame's byte order on every link). */
export function wordBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return out;
}

/** What a receiver found in the byte stream: a good frame, or a damaged one (its header was whole). */
export type Received = { ok: true; frame: Frame } | { ok: false; type: number; seq: number; reason: 'crc' | 'length' };

/**
 * Finds frames in a byte stream, whatever arrives between them: bytes are scanned for the magic word, a frame
 * whose length exceeds `maxPayloadWords` is reported and skipped (the scan goes on after its magic), a frame
 * whose CRC fails is reported and the scan resumes after its magic, so a damaged length can never swallow the
 * frames that follow. The same rules as the shell's receiver.
 */
export class FrameParser {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxPayloadWords = MAX_PAYLOAD_WORDS) {}

  /** Adds bytes; returns every frame completed by them, in order. */
  push(bytes: Uint8Array): Received[] {
    this.buf = concat(this.buf, bytes);
    const out: Received[] = [];
    for (;;) {
      const at = findMagic(this.buf);
      if (at < 0) {
        // Keep the last 3 bytes: they may be the start of a magic word.
        this.buf = this.buf.slice(Math.max(0, this.buf.length - 3));
        return out;
      }
      this.buf = this.buf.subarray(at);
      if (this.buf.length < 8) return out;
      const dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      const { type, seq, words: n } = parseFrameHeader(dv.getUint32(4, true));
      if (n > this.maxPayloadWords) {
        out.push({ ok: false, type, seq, reason: 'length' });
        this.buf = this.buf.subarray(4);
        continue;
      }
      const total = (n + FRAME_OVERHEAD_WORDS) * 4;
      if (this.buf.length < total) return out;
      if (crc32(this.buf.subarray(0, total - 4)) !== dv.getUint32(total - 4, true)) {
        out.push({ ok: false, type, seq, reason: 'crc' });
        this.buf = this.buf.subarray(4);
        continue;
      }
      const payload = new Uint32Array(n);
      for (let i = 0; i < n; i++) payload[i] = dv.getUint32(8 + i * 4, true);
      out.push({ ok: true, frame: { type, seq, payload } });
      this.buf = this.buf.slice(total);
    }
  }

  /**
   * The link went quiet in the middle of a frame, so it will never complete (it was cut short, or a damaged
   * length promised more than was sent): give it up and return the frames found in the bytes after its magic.
   */
  skip(): Received[] {
    const held = this.buf.subarray(Math.min(4, this.buf.length));
    this.buf = new Uint8Array(0);
    return this.push(held);
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }
}

function findMagic(b: Uint8Array): number {
  for (let i = 0; i + 4 <= b.length; i++) {
    if (b[i] === 0x48 && b[i + 1] === 0x57 && b[i + 2] === 0x4c && b[i + 3] === 0x4b) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** What IDENTIFY tells: the build a board carries. */
export interface Identity {
  linkVersion: number;
  /** "major.minor.patch" of the hwgen that generated the build. */
  hwgenVersion: string;
  /** The build's config hash (8 hex digits, as src/engines computes it). */
  configHash: string;
  /** The engine's name, as bundles name it. */
  engine: string;
  clockHz: number;
  maxPayloadWords: number;
  /** The engine's config fields, in the engine's order (numbers). */
  config: number[];
}

/** IDENTIFY's answer words for a build. */
export function identityWords(id: Identity): Uint32Array {
  const [major, minor, patch] = id.hwgenVersion.split('.').map(Number);
  const engine = [...id.engine.padEnd(4, '\0').slice(0, 4)].reduce((w, c, i) => w | (c.charCodeAt(0) << (8 * i)), 0) >>> 0;
  return Uint32Array.from([
    id.linkVersion, ((major << 16) | (minor << 8) | patch) >>> 0, Number.parseInt(id.configHash, 16) >>> 0, engine,
    id.clockHz, id.maxPayloadWords, id.config.length, ...id.config,
  ]);
}

/** An IDENTIFY answer read back; throws RangeError on words that cannot be one. */
export function parseIdentity(words: Uint32Array): Identity {
  const n = IDENTITY_FIELDS.length;
  if (words.length < n || words.length !== n + words[n - 1]) {
    throw new RangeError(`an identity has ${n} words plus its config words, not ${words.length}`);
  }
  const engine = String.fromCharCode(...[0, 1, 2, 3].map((i) => (words[3] >>> (8 * i)) & 0xff)).replace(/\0+$/, '');
  return {
    linkVersion: words[0],
    hwgenVersion: `${words[1] >>> 16}.${(words[1] >>> 8) & 0xff}.${words[1] & 0xff}`,
    configHash: words[2].toString(16).padStart(8, '0'),
    engine,
    clockHz: words[4],
    maxPayloadWords: words[5],
    config: Array.from(words.subarray(n)),
  };
}

import { HwgenError } from '../errors.js';
import { CORRUPT, NEWER, type ReadSection, type Section } from './container.js';
import type { AnyBundle, NumericFormat } from './types.js';

/**
 * What one engine's codec does (eie-codec.ts, xnor-codec.ts): check a segment, write its META fields and its
 * sections, read them back. The container (container.ts) frames the sections; META's shared part is meta.ts.
 * A new engine's bundle is a new codec file plus a line in bundle.ts's CODECS.
 */
export interface SegmentCodec<B extends AnyBundle = AnyBundle> {
  engine: B['engine'];
  /** The per-layer section tags this codec writes and reads. */
  tags: readonly string[];
  /** META's format keys between `numeric` and `meta` (EIE: `sparse`), in the order they are written. */
  formatKeys: readonly string[];
  /** Everything decode checks, on a segment in memory: encode refuses what it could not read back. */
  validate(b: B, where: string): void;
  /** A valid segment's META format fields and per-layer records (key order fixed: the bytes must not change), and its sections. */
  encode(b: B, where: string): { formats: Record<string, unknown>; layers: Record<string, unknown>[]; sections: Section[] };
  /**
   * The segment from META's parts (the shared keys already checked) and its sections; `take(tag, l)` removes a
   * layer's section from the segment, so what is left belongs to no layer.
   */
  decode(head: MetaParts, take: (tag: string, l: number) => ReadSection | undefined, where: string): B;
  /** Values the segment's first layer takes and its last gives: the facts two segments chain by. */
  inputs(b: B): number;
  outputs(b: B): number;
}

/** META's shared fields as read: the numeric format checked, the layer records not yet. */
export interface MetaParts {
  numeric: NumericFormat;
  formats: Record<string, unknown>;
  meta: AnyBundle['meta'];
  layers: unknown[];
  /** The layer kinds this hwgen knows (a record of another kind means a newer writer). */
  kinds: ReadonlySet<string>;
  /** "FILE: META (byte N)", for messages about META's fields. */
  at: string;
}

export function checkInt(x: unknown, min: number, max: number, at: string, what: string): asserts x is number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new HwgenError(`${at}: ${what} is ${describe(x)}; it must be an integer in ${min}..${max}`);
  }
}

export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x);
  if (typeof x === 'number' || typeof x === 'boolean' || x === null || x === undefined) return String(x);
  return Array.isArray(x) ? 'an array' : `a ${typeof x}`;
}

/** Largest value of a signed `bits`-bit integer (its smallest is -(max + 1)). */
export function signedMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

export function layerAt(where: string, l: number, name: unknown): string {
  return `${where}: layer ${l}` + (typeof name === 'string' ? ` '${name}'` : '');
}

/** `x` as an object with exactly `keys` (an extra key would mean a writer this hwgen does not know). */
export function fields(x: unknown, keys: readonly string[], at: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new HwgenError(`${at}: expected an object, found ${describe(x)}; ${CORRUPT}`);
  const rec = x as Record<string, unknown>;
  for (const k of keys) if (!Object.hasOwn(rec, k)) throw new HwgenError(`${at}: missing key "${k}"; ${CORRUPT}`);
  for (const k of Object.keys(rec)) if (!keys.includes(k)) throw new HwgenError(`${at}: unexpected key "${k}"; ${NEWER}`);
  return rec;
}

/**
 * A META layer record's kind, checked before its other keys: `kinds` are the kinds this hwgen knows, `engine`
 * the one this segment holds, `segmentIs` how the mismatch message names the segment.
 */
export function checkLayerKind(x: unknown, kinds: ReadonlySet<string>, engine: string, segmentIs: string, at: string): void {
  const kind = typeof x === 'object' && x !== null ? (x as Record<string, unknown>).kind : undefined;
  if (typeof kind !== 'string') throw new HwgenError(`${at}: kind is ${describe(kind)}; ${CORRUPT}`);
  if (!kinds.has(kind)) throw new HwgenError(`${at}: layer kind ${JSON.stringify(kind)} is not known to this hwgen; ${NEWER}`);
  if (kind !== engine) throw new HwgenError(`${at}: a ${kind} layer in ${segmentIs}; a bundle holds one engine's layers; ${CORRUPT}`);
}

export function payloadView(s: ReadSection): DataView {
  return new DataView(s.payload.buffer, s.payload.byteOffset, s.payload.byteLength);
}

export function expectLength(s: ReadSection, want: number, what: string, at: string): void {
  if (s.payload.length !== want) {
    throw new HwgenError(`${at}: ${s.tag} section at byte ${s.offset} has ${s.payload.length} payload bytes; ${what} needs ${want}; ${CORRUPT}`);
  }
}

/** A layer's section, or a clear error when the file lacks it. */
export function need(take: (tag: string, l: number) => ReadSection | undefined, tag: string, l: number, at: string): ReadSection {
  const s = take(tag, l);
  if (!s) throw new HwgenError(`${at}: no ${tag} section; ${CORRUPT}`);
  return s;
}

/** int64 little-endian, split into 32-bit halves: exact for the <= 48-bit integers the codecs validate. */
export function int64Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const lo = ((x % 2 ** 32) + 2 ** 32) % 2 ** 32;
    dv.setUint32(i * 8, lo, true);
    dv.setInt32(i * 8 + 4, (x - lo) / 2 ** 32, true);
  }
  return out;
}

/** hi · 2^32 + lo is exact whenever the value is within accBits (<= 48); larger values fail validation anyway. */
export function readInt64(dv: DataView, o: number): number {
  return dv.getInt32(o + 4, true) * 2 ** 32 + dv.getUint32(o, true);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

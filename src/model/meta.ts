import { HwgenError } from '../errors.js';
import { HWGEN_VERSION } from '../paths.js';
import { CORRUPT, NEWER, type ReadSection } from './container.js';
import { describe, fields, type MetaParts, type SegmentCodec } from './codec.js';
import { checkNumeric } from './limits.js';
import type { AnyBundle, NumericFormat } from './types.js';

/**
 * META, a segment's small facts as JSON (docs/bundle.md): generator, engine, numeric, the engine's formats,
 * meta, layers. This file writes and checks the keys every engine shares; the codec writes its own.
 */

/** META's bytes, keys in a fixed order (object literals keep insertion order, `meta` sorted) so output is byte-stable. */
export function metaPayload(b: AnyBundle, formats: Record<string, unknown>, layers: Record<string, unknown>[]): Uint8Array {
  const { actBits, actFrac, weightBits, accBits } = b.numeric;
  const meta = Object.fromEntries(Object.keys(b.meta).sort().map((k) => [k, b.meta[k]]));
  const json = JSON.stringify({ generator: `hwgen ${HWGEN_VERSION}`, engine: b.engine, numeric: { actBits, actFrac, weightBits, accBits }, ...formats, meta, layers });
  return new TextEncoder().encode(json);
}

export function validateMetaRecord(meta: unknown, at: string): asserts meta is AnyBundle['meta'] {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new HwgenError(`${at}: meta is ${describe(meta)}; it must be an object`);
  for (const [k, x] of Object.entries(meta)) {
    const ok = typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
    if (!ok) throw new HwgenError(`${at}: meta.${k} is ${describe(x)}; meta values must be strings, finite numbers or booleans`);
  }
}

/** The checks every segment in memory gets before its codec's: the numeric format, meta, at least one layer. */
export function validateShared(b: AnyBundle, where: string): void {
  checkNumericTypes(b.numeric, where);
  checkNumeric(b.numeric, `${where}: numeric format`);
  validateMetaRecord(b.meta, where);
  if (b.layers.length === 0) throw new HwgenError(`${where}: the bundle has no layers; a model needs at least one`);
}

export function checkNumericTypes(values: object, where: string): void {
  for (const x of Object.values(values)) if (typeof x !== 'number') throw new HwgenError(`${where}: a format field is ${describe(x)}; ${CORRUPT}`);
}

function parseJson(sec: ReadSection, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(sec.payload));
  } catch (e) {
    throw new HwgenError(`${where}: META (byte ${sec.offset}): not valid UTF-8 JSON (${(e as Error).message}); ${CORRUPT}`);
  }
}

/**
 * A segment's META: its engine (`engine`, from version 2; a version-1 file has none, and an EIE bundle was the
 * one with a sparse format), then the shared keys checked; the layer records are left to the engine's codec.
 */
export function readMeta(sec: ReadSection, version: number, codecs: Record<string, SegmentCodec>, where: string): { codec: SegmentCodec; parts: MetaParts } {
  const at = `${where}: META (byte ${sec.offset})`;
  const json = parseJson(sec, where);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HwgenError(`${at}: expected an object, found ${describe(json)}; ${CORRUPT}`);
  const rec = json as Record<string, unknown>;
  let engine: unknown;
  if (version === 1) engine = Object.hasOwn(rec, 'sparse') ? 'eie' : 'xnor';
  else {
    engine = rec.engine;
    delete rec.engine;
    if (typeof engine !== 'string') throw new HwgenError(`${at}: engine is ${describe(engine)}; ${CORRUPT}`);
    if (!Object.hasOwn(codecs, engine)) throw new HwgenError(`${at}: engine ${JSON.stringify(engine)} is not known to this hwgen; ${NEWER}`);
  }
  const codec = codecs[engine as string];
  const top = fields(rec, ['generator', 'numeric', ...codec.formatKeys, 'meta', 'layers'], at);
  if (typeof top.generator !== 'string') throw new HwgenError(`${at}: generator is ${describe(top.generator)}; it must be a string`);
  const numeric = fields(top.numeric, ['actBits', 'actFrac', 'weightBits', 'accBits'], `${at} numeric`) as unknown as NumericFormat;
  const formats = Object.fromEntries(codec.formatKeys.map((k) => [k, top[k]]));
  return { codec, parts: { numeric, formats, meta: top.meta as AnyBundle['meta'], layers: top.layers as unknown[], kinds: new Set(Object.keys(codecs)), at } };
}

/** The shared checks of META's values, for a codec to call once it has read its format keys. */
export function checkMetaParts(parts: MetaParts): void {
  checkNumeric(parts.numeric, `${parts.at}: numeric format`);
  validateMetaRecord(parts.meta, parts.at);
  if (!Array.isArray(parts.layers) || parts.layers.length === 0) throw new HwgenError(`${parts.at}: layers is ${describe(parts.layers)}; it must be a non-empty array`);
}

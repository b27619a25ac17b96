import { crc32 } from 'node:zlib';
import { HwgenError } from '../errors.js';
import { HWGEN_VERSION } from '../paths.js';

/**
 * The `.hwb` container (docs/bundle.md): a CRC-protected header, then CRC-protected sections, each a tag, the
 * segment and layer it belongs to, and a payload. What a payload means is its codec's business (codec.ts,
 * meta.ts, eie-codec.ts, xnor-codec.ts); this file knows only the framing. All integers are little-endian.
 */

export const BUNDLE_MAGIC = 'HWGB';
/** One segment: version 2 names the engine in META; version 1 files (the engine inferred from META's keys) still read. */
export const BUNDLE_VERSION = 2;
/** Several segments: every section names its segment. */
export const NETWORK_VERSION = 3;
/** Layer index of a section that belongs to a whole segment (META). */
export const WHOLE_BUNDLE = 0xffffffff;

const HEADER_BYTES = 16; // magic, version, flags, section count, CRC
/** Tag, (segment, from version 3,) layer index, payload length. */
const sectionHeadBytes = (version: number): number => (version >= NETWORK_VERSION ? 16 : 12);
export const U32_MAX = 0xffffffff;

export const NEWER = `the bundle needs a newer hwgen than ${HWGEN_VERSION}; upgrade hwgen or re-run hwgen compress with this one`;
export const CORRUPT = 'the file is corrupt; re-run hwgen compress';

export interface Section {
  tag: string;
  /** The layer it belongs to within its segment, or WHOLE_BUNDLE. */
  index: number;
  payload: Uint8Array;
}

export interface ReadSection extends Section {
  segment: number;
  /** Byte offset of the section's tag in the file. */
  offset: number;
}

/** The file: `segments[s]` are segment s's sections; one segment is written as `version` 2, several as 3. */
export function assemble(segments: Section[][]): Uint8Array {
  const version = segments.length > 1 ? NETWORK_VERSION : BUNDLE_VERSION;
  const head = sectionHeadBytes(version);
  const all = segments.flatMap((secs, segment) => secs.map((s) => ({ ...s, segment })));
  const total = HEADER_BYTES + all.reduce((n, s) => n + head + s.payload.length + 4, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(ascii(BUNDLE_MAGIC), 0);
  dv.setUint16(4, version, true);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, all.length, true);
  dv.setUint32(12, crc32(out.subarray(0, 12)), true);
  let o = HEADER_BYTES;
  for (const s of all) {
    if (s.payload.length > U32_MAX) throw new HwgenError(`bundle: section ${s.tag} of ${s.payload.length} bytes exceeds 2^32 - 1 bytes`);
    out.set(ascii(s.tag), o);
    let f = o + 4;
    if (version >= NETWORK_VERSION) {
      dv.setUint32(f, s.segment, true);
      f += 4;
    }
    dv.setUint32(f, s.index, true);
    dv.setUint32(f + 4, s.payload.length, true);
    out.set(s.payload, o + head);
    const end = o + head + s.payload.length;
    dv.setUint32(end, crc32(out.subarray(o, end)), true);
    o = end + 4;
  }
  return out;
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A section's key in a segment's map. */
export function sectionKey(tag: string, index: number): string {
  return `${tag}/${index}`;
}

function owner(index: number): string {
  return index === WHOLE_BUNDLE ? 'the whole bundle' : `layer ${index}`;
}

/**
 * Checks header, framing and every CRC; returns the version and each segment's sections by (tag, layer index).
 * `knownTags` are the tags some codec reads: any other means a newer writer. Segments are numbered from 0 with
 * none left out (a version 1 or 2 file is one segment).
 */
export function readSections(buf: Uint8Array, knownTags: ReadonlySet<string>, where: string): { version: number; segments: Map<string, ReadSection>[] } {
  if (buf.length < HEADER_BYTES) throw new HwgenError(`${where}: ${buf.length} bytes is too short for a bundle header (${HEADER_BYTES}); ${CORRUPT}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (tagAt(buf, 0) !== BUNDLE_MAGIC) {
    throw new HwgenError(`${where}: not an hwgen bundle (starts with ${tagText(buf.subarray(0, 4))}, expected "${BUNDLE_MAGIC}"); give the .hwb file hwgen compress wrote`);
  }
  if (dv.getUint32(12, true) !== crc32(buf.subarray(0, 12))) throw new HwgenError(`${where}: header CRC mismatch at byte 12; ${CORRUPT}`);
  const version = dv.getUint16(4, true);
  if (version > NETWORK_VERSION) throw new HwgenError(`${where}: bundle format version ${version}, but this hwgen reads versions 1 to ${NETWORK_VERSION}; ${NEWER}`);
  if (version < 1) throw new HwgenError(`${where}: bundle format version ${version} does not exist; ${CORRUPT}`);
  const flags = dv.getUint16(6, true);
  if (flags !== 0) throw new HwgenError(`${where}: header flags 0x${flags.toString(16)} are not known; ${NEWER}`);
  const count = dv.getUint32(8, true);

  const segments: Map<string, ReadSection>[] = [];
  let o = HEADER_BYTES;
  for (let n = 0; n < count; n++) {
    const s = readSection(buf, dv, o, n, count, version, knownTags, where);
    const seg = (segments[s.segment] ??= new Map());
    const k = sectionKey(s.tag, s.index);
    const inSeg = version >= NETWORK_VERSION ? ` of segment ${s.segment}` : '';
    if (seg.has(k)) throw new HwgenError(`${where}: second ${s.tag} section for ${owner(s.index)}${inSeg} at byte ${o}; ${CORRUPT}`);
    seg.set(k, s);
    o += sectionHeadBytes(version) + s.payload.length + 4;
  }
  if (o !== buf.length) throw new HwgenError(`${where}: ${buf.length - o} bytes after the last of ${count} sections (byte ${o}); ${CORRUPT}`);
  for (let s = 0; s < segments.length; s++) {
    if (!segments[s]) throw new HwgenError(`${where}: segment ${s} has no sections, but segment ${segments.length - 1} has; segments are numbered from 0 in order; ${CORRUPT}`);
  }
  if (!segments.length) segments.push(new Map());
  return { version, segments };
}

function readSection(buf: Uint8Array, dv: DataView, o: number, n: number, count: number, version: number, knownTags: ReadonlySet<string>, where: string): ReadSection {
  const head = sectionHeadBytes(version);
  if (o + head > buf.length) {
    throw new HwgenError(`${where}: file ends at byte ${buf.length} inside the header of section ${n + 1} of ${count} (byte ${o}); the file is truncated; re-run hwgen compress`);
  }
  const f = o + head - 8; // the layer index, then the length, end every section head
  const len = dv.getUint32(f + 4, true);
  const end = o + head + len;
  if (end + 4 > buf.length) {
    throw new HwgenError(`${where}: section ${n + 1} of ${count} at byte ${o} claims ${len} payload bytes, past the end of the file (${buf.length} bytes); the file is truncated or corrupt; re-run hwgen compress`);
  }
  const tag = tagAt(buf, o);
  if (dv.getUint32(end, true) !== crc32(buf.subarray(o, end))) {
    throw new HwgenError(`${where}: CRC mismatch in section ${tagText(buf.subarray(o, o + 4))} at byte ${o}; ${CORRUPT}`);
  }
  const segment = version >= NETWORK_VERSION ? dv.getUint32(o + 4, true) : 0;
  const index = dv.getUint32(f, true);
  if (!knownTags.has(tag)) throw new HwgenError(`${where}: section ${tagText(buf.subarray(o, o + 4))} at byte ${o} is not known to this hwgen; ${NEWER}`);
  if (segment >= count) throw new HwgenError(`${where}: section ${tag} at byte ${o} names segment ${segment}, but the file has ${count} sections; ${CORRUPT}`);
  const wholeTag = tag === 'META';
  if (wholeTag !== (index === WHOLE_BUNDLE)) {
    throw new HwgenError(`${where}: section ${tag} at byte ${o} has layer index ${index}; ${wholeTag ? 'META belongs to the whole bundle' : 'it must name a layer'}; ${CORRUPT}`);
  }
  return { tag, index, payload: buf.subarray(o + head, end), offset: o, segment };
}

function tagAt(buf: Uint8Array, o: number): string {
  return String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
}

/** A tag for messages: quoted if printable ASCII, hex otherwise. */
function tagText(bytes: Uint8Array): string {
  const printable = bytes.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? JSON.stringify(String.fromCharCode(...bytes)) : `0x${Buffer.from(bytes).toString('hex')}`;
}

/** Takes a segment's section out of its map (so what is left at the end belongs to no layer). */
export function takeSection(sections: Map<string, ReadSection>, tag: string, index: number): ReadSection | undefined {
  const k = sectionKey(tag, index);
  const s = sections.get(k);
  sections.delete(k);
  return s;
}

/** Refuses sections a segment's codec did not take. */
export function checkAllTaken(sections: Map<string, ReadSection>, layers: number, where: string): void {
  for (const s of sections.values()) {
    throw new HwgenError(`${where}: section ${s.tag} for ${owner(s.index)} at byte ${s.offset} does not belong to any of the ${layers} layers META lists; ${CORRUPT}`);
  }
}

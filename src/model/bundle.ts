import { crc32 } from 'node:zlib';
import { readFileChecked, writeFileAtomic } from '../atomic.js';
import { localRows } from './layout.js';
import { huffmanDecode, huffmanEncode, huffmanLengths } from './huffman.js';
import { HwgenError } from '../errors.js';
import { HWGEN_VERSION } from '../paths.js';
import { bwnAccRange, convGeometry, layerInputs, layerOutputs, rowBytes, scoreShift } from './layout.js';
import { checkNumeric, checkSparse } from './limits.js';
import { checkLayerNames } from './names.js';
import type { AnyBundle, BinaryBundle, Bundle, ConvShape, EieLayer, NumericFormat, PeSlice, SparseFormat, XnorLayer } from './types.js';

/**
 * The `.hwb` bundle: the compressed model every stage after `hwgen compress` reads. docs/bundle.md describes
 * the layout byte by byte; in short, a CRC-protected header, then CRC-protected sections (META with the
 * small facts as JSON, then per EIE layer PTRS, BIAS, VHUF, ZHUF). All integers are little-endian.
 */

export const BUNDLE_MAGIC = 'HWGB';
/** Version 2 names the engine in META; version 1 files (the engine inferred from META's keys) still read. */
export const BUNDLE_VERSION = 2;
/** Layer index of a section that belongs to the whole bundle. */
export const WHOLE_BUNDLE = 0xffffffff;
/** Longest Huffman code the writer uses. */
export const BUNDLE_MAX_CODE_LEN = 16;

const HEADER_BYTES = 16; // magic, version, flags, section count, CRC
const SECTION_HEAD_BYTES = 12; // tag, layer index, payload length
const U32_MAX = 0xffffffff;

/** Section tags this hwgen reads; any other tag means a newer writer. */
const EIE_TAGS = ['PTRS', 'BIAS', 'VHUF', 'ZHUF'] as const;
const XNOR_TAGS = ['XWGT', 'XTHR', 'XSCL'] as const;
const KNOWN_TAGS = new Set<string>(['META', ...EIE_TAGS, ...XNOR_TAGS]);
const KNOWN_KINDS = new Set<string>(['eie', 'xnor']);

const NEWER = `the bundle needs a newer hwgen than ${HWGEN_VERSION}; upgrade hwgen or re-run hwgen compress with this one`;
const CORRUPT = 'the file is corrupt; re-run hwgen compress';

// ───────────────────────────── validation (shared by encode and decode) ─────────────────────────────

function checkInt(x: unknown, min: number, max: number, at: string, what: string): asserts x is number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new HwgenError(`${at}: ${what} is ${describe(x)}; it must be an integer in ${min}..${max}`);
  }
}

function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x);
  if (typeof x === 'number' || typeof x === 'boolean' || x === null || x === undefined) return String(x);
  return Array.isArray(x) ? 'an array' : `a ${typeof x}`;
}

/** Largest value of a signed `bits`-bit integer (its smallest is -(max + 1)). */
function signedMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

export function validateFormats(numeric: NumericFormat, sparse: SparseFormat, where: string): void {
  for (const x of [numeric.actBits, numeric.actFrac, numeric.weightBits, numeric.accBits, sparse.pes, sparse.vBits, sparse.zBits]) {
    if (typeof x !== 'number') throw new HwgenError(`${where}: a format field is ${describe(x)}; ${CORRUPT}`);
  }
  checkNumeric(numeric, `${where}: numeric format`);
  checkSparse(sparse, `${where}: sparse format`);
}

/** The small facts of a layer, as META carries them. */
interface LayerHead {
  name: string;
  rows: number;
  cols: number;
  bits: number;
  wFrac: number;
  relu: boolean;
  codebook: ArrayLike<number>;
}

function validateLayerHead(h: LayerHead, numeric: NumericFormat, sparse: SparseFormat, at: string): void {
  if (typeof h.name !== 'string') throw new HwgenError(`${at}: name is ${describe(h.name)}; it must be a string`);
  if (typeof h.relu !== 'boolean') throw new HwgenError(`${at}: relu is ${describe(h.relu)}; it must be true or false`);
  checkInt(h.rows, 1, U32_MAX, at, 'rows');
  checkInt(h.cols, 1, U32_MAX - 1, at, 'cols');
  checkInt(h.bits, 1, sparse.vBits, at, `bits (at most vBits = ${sparse.vBits})`);
  checkInt(h.wFrac, 0, 31, at, 'wFrac');
  const cb = h.codebook;
  if (cb.length !== 2 ** h.bits) {
    throw new HwgenError(`${at}: codebook has ${cb.length} entries; bits = ${h.bits} needs exactly ${2 ** h.bits}`);
  }
  if (cb[0] !== 0) throw new HwgenError(`${at}: codebook[0] is ${describe(cb[0])}; entry 0 stands for a zero weight and must be 0`);
  const max = signedMax(numeric.weightBits);
  for (let i = 1; i < cb.length; i++) checkInt(cb[i], -max - 1, max, at, `codebook[${i}] (signed weightBits = ${numeric.weightBits})`);
}

function validateSlices(layer: EieLayer, sparse: SparseFormat, at: string): void {
  if (layer.slices.length !== sparse.pes) {
    throw new HwgenError(`${at}: ${layer.slices.length} PE slices; the sparse format has pes = ${sparse.pes}`);
  }
  layer.slices.forEach((slice, p) => validateSlice(slice, layer, sparse.zBits, localRows(layer.rows, sparse.pes, p), `${at} PE ${p}`));
}

function validateSlice(slice: PeSlice, layer: EieLayer, zBits: number, local: number, at: string): void {
  const { ptr, v, z } = slice;
  const cols = layer.cols;
  if (ptr.length !== cols + 1) throw new HwgenError(`${at}: ${ptr.length} column pointers; cols = ${cols} needs ${cols + 1}`);
  if (ptr[0] !== 0) throw new HwgenError(`${at}: ptr[0] is ${ptr[0]}; the first column pointer must be 0`);
  for (let j = 0; j < cols; j++) {
    if (ptr[j + 1] < ptr[j]) throw new HwgenError(`${at}: ptr[${j + 1}] = ${ptr[j + 1]} is less than ptr[${j}] = ${ptr[j]}; column pointers must not decrease`);
  }
  if (v.length !== ptr[cols] || z.length !== ptr[cols]) {
    throw new HwgenError(`${at}: ptr[${cols}] = ${ptr[cols]} but the PE has ${v.length} v and ${z.length} z entries; they must all agree`);
  }
  const vLimit = 2 ** layer.bits;
  for (let e = 0; e < v.length; e++) {
    if (v[e] >= vLimit) throw new HwgenError(`${at}: entry ${e} has v = ${v[e]}, outside the ${vLimit}-entry codebook (bits = ${layer.bits})`);
  }
  const zLimit = 2 ** zBits;
  for (let e = 0; e < z.length; e++) {
    if (z[e] >= zLimit) throw new HwgenError(`${at}: entry ${e} has z = ${z[e]}, which does not fit zBits = ${zBits}`);
  }
  for (let j = 0; j < cols; j++) {
    // Each entry sits z + 1 local rows below the previous one of its column.
    let row = -1;
    for (let e = ptr[j]; e < ptr[j + 1]; e++) {
      row += z[e] + 1;
      if (row >= local) {
        throw new HwgenError(`${at}: column ${j} entry ${e} lands on local row ${row}, but the PE holds only ${local} rows (rows = ${layer.rows})`);
      }
    }
  }
}

function validateBias(bias: ArrayLike<number>, rows: number, accBits: number, at: string): void {
  if (bias.length !== rows) throw new HwgenError(`${at}: bias has ${bias.length} values; rows = ${rows} needs ${rows}`);
  const max = signedMax(accBits);
  for (let i = 0; i < rows; i++) checkInt(bias[i], -max - 1, max, at, `bias[${i}] (signed accBits = ${accBits})`);
}

function validateChain(layers: EieLayer[], where: string): void {
  checkLayerNames(layers.map((l) => l.name), where, CORRUPT);
  for (let l = 0; l + 1 < layers.length; l++) {
    if (layers[l].rows !== layers[l + 1].cols) {
      throw new HwgenError(
        `${where}: layer ${l} '${layers[l].name}' has ${layers[l].rows} outputs but layer ${l + 1} '${layers[l + 1].name}' takes ${layers[l + 1].cols} inputs; consecutive layers must chain`,
      );
    }
  }
}

function validateMetaRecord(meta: unknown, at: string): asserts meta is Bundle['meta'] {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new HwgenError(`${at}: meta is ${describe(meta)}; it must be an object`);
  for (const [k, x] of Object.entries(meta)) {
    const ok = typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
    if (!ok) throw new HwgenError(`${at}: meta.${k} is ${describe(x)}; meta values must be strings, finite numbers or booleans`);
  }
}

function layerAt(where: string, l: number, name: unknown): string {
  return `${where}: layer ${l}` + (typeof name === 'string' ? ` '${name}'` : '');
}

/** Everything decodeBundle checks, applied to a bundle in memory (encodeBundle refuses what it could not read back). */
export function validateBundle(b: AnyBundle, where: string): void {
  if (b.engine === 'xnor') return validateBinaryBundle(b, where);
  if (b.engine !== 'eie') throw new HwgenError(`${where}: engine is ${describe((b as { engine: unknown }).engine)}; it must be 'eie' or 'xnor'`);
  validateFormats(b.numeric, b.sparse, where);
  validateMetaRecord(b.meta, where);
  if (b.layers.length === 0) throw new HwgenError(`${where}: the bundle has no layers; a model needs at least one`);
  b.layers.forEach((layer, l) => {
    const at = layerAt(where, l, layer.name);
    if (!KNOWN_KINDS.has(layer.kind)) throw new HwgenError(`${at}: unknown layer kind ${describe(layer.kind)}`);
    if (layer.kind !== 'eie') throw new HwgenError(`${at}: a ${describe(layer.kind)} layer in an EIE bundle; a bundle holds one engine's layers`);
    validateLayerHead(layer, b.numeric, b.sparse, at);
    validateSlices(layer, b.sparse, at);
    validateBias(layer.bias, layer.rows, b.numeric.accBits, at);
  });
  validateChain(b.layers, where);
}

// ───────────────────────────── encoding ─────────────────────────────

interface Section {
  tag: string;
  index: number;
  payload: Uint8Array;
}

export function encodeBundle(b: AnyBundle): Uint8Array {
  return encode(b, 'bundle');
}

function encode(b: AnyBundle, where: string): Uint8Array {
  if (b.engine === 'xnor') return encodeBinary(b, where);
  validateBundle(b, where);
  const sections: Section[] = [{ tag: 'META', index: WHOLE_BUNDLE, payload: new TextEncoder().encode(metaJson(b)) }];
  b.layers.forEach((layer, l) => sections.push(...eieSections(layer, l, b.sparse, layerAt(where, l, layer.name))));
  return assemble(sections);
}

/** META as JSON with keys in a fixed order (object literals keep insertion order) so output is byte-stable. */
function metaJson(b: Bundle): string {
  const { actBits, actFrac, weightBits, accBits } = b.numeric;
  const { pes, vBits, zBits } = b.sparse;
  const meta = Object.fromEntries(Object.keys(b.meta).sort().map((k) => [k, b.meta[k]]));
  return JSON.stringify({
    generator: `hwgen ${HWGEN_VERSION}`,
    engine: b.engine,
    numeric: { actBits, actFrac, weightBits, accBits },
    sparse: { pes, vBits, zBits },
    meta,
    layers: b.layers.map((l) => ({
      kind: l.kind,
      name: l.name,
      rows: l.rows,
      cols: l.cols,
      bits: l.bits,
      wFrac: l.wFrac,
      relu: l.relu,
      codebook: Array.from(l.codebook),
      entries: l.slices.map((s) => s.v.length),
    })),
  });
}

function eieSections(layer: EieLayer, l: number, sparse: SparseFormat, at: string): Section[] {
  const ptrs = new Uint8Array(sparse.pes * (layer.cols + 1) * 4);
  const pv = new DataView(ptrs.buffer);
  layer.slices.forEach((s, p) => s.ptr.forEach((x, j) => pv.setUint32((p * (layer.cols + 1) + j) * 4, x, true)));

  const bias = new Uint8Array(layer.rows * 8);
  const bv = new DataView(bias.buffer);
  layer.bias.forEach((x, i) => {
    // Split into 32-bit halves: exact for the <= 48-bit integers validated above.
    const lo = ((x % 2 ** 32) + 2 ** 32) % 2 ** 32;
    bv.setUint32(i * 8, lo, true);
    bv.setInt32(i * 8 + 4, (x - lo) / 2 ** 32, true);
  });

  return [
    { tag: 'PTRS', index: l, payload: ptrs },
    { tag: 'BIAS', index: l, payload: bias },
    { tag: 'VHUF', index: l, payload: huffPayload(concat(layer.slices.map((s) => s.v)), sparse.vBits, `${at} VHUF`) },
    { tag: 'ZHUF', index: l, payload: huffPayload(concat(layer.slices.map((s) => s.z)), sparse.zBits, `${at} ZHUF`) },
  ];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Code lengths (2^symBits bytes), symbol count u32, bit length u32, packed bits (MSB-first). */
function huffPayload(symbols: Uint8Array, symBits: number, at: string): Uint8Array {
  const alphabet = 2 ** symBits;
  const counts = new Float64Array(alphabet);
  for (let i = 0; i < symbols.length; i++) counts[symbols[i]]++;
  const lengths = huffmanLengths(counts, BUNDLE_MAX_CODE_LEN);
  const { bytes, bitLength } = huffmanEncode(symbols, lengths);
  if (symbols.length > U32_MAX || bitLength > U32_MAX) {
    throw new HwgenError(`${at}: ${symbols.length} entries (${bitLength} bits) exceed what a bundle section holds (2^32 - 1); use more PEs or a smaller layer`);
  }
  const out = new Uint8Array(alphabet + 8 + bytes.length);
  out.set(lengths);
  const dv = new DataView(out.buffer);
  dv.setUint32(alphabet, symbols.length, true);
  dv.setUint32(alphabet + 4, bitLength, true);
  out.set(bytes, alphabet + 8);
  return out;
}

function assemble(sections: Section[]): Uint8Array {
  const total = HEADER_BYTES + sections.reduce((n, s) => n + SECTION_HEAD_BYTES + s.payload.length + 4, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(ascii(BUNDLE_MAGIC), 0);
  dv.setUint16(4, BUNDLE_VERSION, true);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, sections.length, true);
  dv.setUint32(12, crc32(out.subarray(0, 12)), true);
  let o = HEADER_BYTES;
  for (const s of sections) {
    if (s.payload.length > U32_MAX) throw new HwgenError(`bundle: section ${s.tag} of ${s.payload.length} bytes exceeds 2^32 - 1 bytes`);
    out.set(ascii(s.tag), o);
    dv.setUint32(o + 4, s.index, true);
    dv.setUint32(o + 8, s.payload.length, true);
    out.set(s.payload, o + SECTION_HEAD_BYTES);
    const end = o + SECTION_HEAD_BYTES + s.payload.length;
    dv.setUint32(end, crc32(out.subarray(o, end)), true);
    o = end + 4;
  }
  return out;
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

// ───────────────────────────── decoding ─────────────────────────────

interface ReadSection extends Section {
  /** Byte offset of the section's tag in the file. */
  offset: number;
}

/** Decodes an EIE bundle; a binary (XNOR) bundle is refused with a message that says so. */
export function decodeBundle(buf: Uint8Array, where: string): Bundle {
  const b = decodeAnyBundle(buf, where);
  if (b.engine !== 'eie') {
    throw new HwgenError(`${where}: the bundle holds binary (XNOR) layers, which run on the XNOR units, not the EIE engine; use it with the XNOR tools (docs/xnor.md)`);
  }
  return b;
}

/** Decodes a bundle of either engine. */
export function decodeAnyBundle(buf: Uint8Array, where: string): AnyBundle {
  const { version, sections } = readSections(buf, where);
  const metaSec = sections.get(key('META', WHOLE_BUNDLE));
  if (!metaSec) throw new HwgenError(`${where}: no META section; ${CORRUPT}`);
  sections.delete(key('META', WHOLE_BUNDLE));
  const json = parseMetaJson(metaSec, where);
  if (metaEngine(json, version, metaSec, where) === 'xnor') return decodeBinary(json as Record<string, unknown>, metaSec, sections, where);
  const head = parseMeta(json, metaSec, where);

  const layers = head.layers.map((lm, l) => decodeEieLayer(lm, l, sections, head, where));
  for (const s of sections.values()) {
    const owner = s.index === WHOLE_BUNDLE ? 'the whole bundle' : `layer ${s.index}`;
    throw new HwgenError(`${where}: section ${s.tag} for ${owner} at byte ${s.offset} does not belong to any of the ${layers.length} layers META lists; ${CORRUPT}`);
  }
  validateChain(layers, where);
  return { engine: 'eie', numeric: head.numeric, sparse: head.sparse, layers, meta: head.meta };
}

function key(tag: string, index: number): string {
  return `${tag}/${index}`;
}

/** Checks header and framing and every CRC; returns the sections by (tag, layer index). */
function readSections(buf: Uint8Array, where: string): { version: number; sections: Map<string, ReadSection> } {
  if (buf.length < HEADER_BYTES) throw new HwgenError(`${where}: ${buf.length} bytes is too short for a bundle header (${HEADER_BYTES}); ${CORRUPT}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (tagAt(buf, 0) !== BUNDLE_MAGIC) {
    throw new HwgenError(`${where}: not an hwgen bundle (starts with ${tagText(buf.subarray(0, 4))}, expected "${BUNDLE_MAGIC}"); give the .hwb file hwgen compress wrote`);
  }
  if (dv.getUint32(12, true) !== crc32(buf.subarray(0, 12))) throw new HwgenError(`${where}: header CRC mismatch at byte 12; ${CORRUPT}`);
  const version = dv.getUint16(4, true);
  if (version > BUNDLE_VERSION) throw new HwgenError(`${where}: bundle format version ${version}, but this hwgen reads version ${BUNDLE_VERSION}; ${NEWER}`);
  if (version < 1) throw new HwgenError(`${where}: bundle format version ${version} does not exist; ${CORRUPT}`);
  const flags = dv.getUint16(6, true);
  if (flags !== 0) throw new HwgenError(`${where}: header flags 0x${flags.toString(16)} are not known; ${NEWER}`);
  const count = dv.getUint32(8, true);

  const sections = new Map<string, ReadSection>();
  let o = HEADER_BYTES;
  for (let n = 0; n < count; n++) {
    const s = readSection(buf, dv, o, n, count, where);
    const k = key(s.tag, s.index);
    if (sections.has(k)) throw new HwgenError(`${where}: second ${s.tag} section for ${s.index === WHOLE_BUNDLE ? 'the whole bundle' : `layer ${s.index}`} at byte ${o}; ${CORRUPT}`);
    sections.set(k, s);
    o += SECTION_HEAD_BYTES + s.payload.length + 4;
  }
  if (o !== buf.length) throw new HwgenError(`${where}: ${buf.length - o} bytes after the last of ${count} sections (byte ${o}); ${CORRUPT}`);
  return { version, sections };
}

function readSection(buf: Uint8Array, dv: DataView, o: number, n: number, count: number, where: string): ReadSection {
  if (o + SECTION_HEAD_BYTES > buf.length) {
    throw new HwgenError(`${where}: file ends at byte ${buf.length} inside the header of section ${n + 1} of ${count} (byte ${o}); the file is truncated; re-run hwgen compress`);
  }
  const len = dv.getUint32(o + 8, true);
  const end = o + SECTION_HEAD_BYTES + len;
  if (end + 4 > buf.length) {
    throw new HwgenError(`${where}: section ${n + 1} of ${count} at byte ${o} claims ${len} payload bytes, past the end of the file (${buf.length} bytes); the file is truncated or corrupt; re-run hwgen compress`);
  }
  const tag = tagAt(buf, o);
  if (dv.getUint32(end, true) !== crc32(buf.subarray(o, end))) {
    throw new HwgenError(`${where}: CRC mismatch in section ${tagText(buf.subarray(o, o + 4))} at byte ${o}; ${CORRUPT}`);
  }
  const index = dv.getUint32(o + 4, true);
  if (!KNOWN_TAGS.has(tag)) throw new HwgenError(`${where}: section ${tagText(buf.subarray(o, o + 4))} at byte ${o} is not known to this hwgen; ${NEWER}`);
  const wholeTag = tag === 'META';
  if (wholeTag !== (index === WHOLE_BUNDLE)) {
    throw new HwgenError(`${where}: section ${tag} at byte ${o} has layer index ${index}; ${wholeTag ? 'META belongs to the whole bundle' : 'it must name a layer'}; ${CORRUPT}`);
  }
  return { tag, index, payload: buf.subarray(o + SECTION_HEAD_BYTES, end), offset: o };
}

function tagAt(buf: Uint8Array, o: number): string {
  return String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
}

/** A tag for messages: quoted if printable ASCII, hex otherwise. */
function tagText(bytes: Uint8Array): string {
  const printable = bytes.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? JSON.stringify(String.fromCharCode(...bytes)) : `0x${Buffer.from(bytes).toString('hex')}`;
}

/** A layer as META describes it, before its sections are read. */
interface LayerMeta extends LayerHead {
  kind: 'eie';
  entries: number[];
}

interface MetaHead {
  numeric: NumericFormat;
  sparse: SparseFormat;
  meta: Bundle['meta'];
  layers: LayerMeta[];
}

function parseMetaJson(sec: ReadSection, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(sec.payload));
  } catch (e) {
    throw new HwgenError(`${where}: META (byte ${sec.offset}): not valid UTF-8 JSON (${(e as Error).message}); ${CORRUPT}`);
  }
}

/**
 * The engine a bundle runs on: META's `engine` (version 2), removed from `json` so the per-engine parsers see
 * their own keys; a version-1 file has none, and an EIE bundle was the one with a sparse format.
 */
function metaEngine(json: unknown, version: number, sec: ReadSection, where: string): 'eie' | 'xnor' {
  const at = `${where}: META (byte ${sec.offset})`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HwgenError(`${at}: expected an object, found ${describe(json)}; ${CORRUPT}`);
  const rec = json as Record<string, unknown>;
  if (version === 1) return Object.hasOwn(rec, 'sparse') ? 'eie' : 'xnor';
  const engine = rec.engine;
  delete rec.engine;
  if (typeof engine !== 'string') throw new HwgenError(`${at}: engine is ${describe(engine)}; ${CORRUPT}`);
  if (!KNOWN_KINDS.has(engine)) throw new HwgenError(`${at}: engine ${JSON.stringify(engine)} is not known to this hwgen; ${NEWER}`);
  return engine as 'eie' | 'xnor';
}

function parseMeta(json: unknown, sec: ReadSection, where: string): MetaHead {
  const at = `${where}: META (byte ${sec.offset})`;
  const top = fields(json, ['generator', 'numeric', 'sparse', 'meta', 'layers'], at);
  if (typeof top.generator !== 'string') throw new HwgenError(`${at}: generator is ${describe(top.generator)}; it must be a string`);
  const numeric = fields(top.numeric, ['actBits', 'actFrac', 'weightBits', 'accBits'], `${at} numeric`) as unknown as NumericFormat;
  const sparse = fields(top.sparse, ['pes', 'vBits', 'zBits'], `${at} sparse`) as unknown as SparseFormat;
  validateFormats(numeric, sparse, at);
  validateMetaRecord(top.meta, at);
  if (!Array.isArray(top.layers) || top.layers.length === 0) {
    throw new HwgenError(`${at}: layers is ${describe(top.layers)}; it must be a non-empty array`);
  }
  const layers = top.layers.map((lm: unknown, l: number) => parseLayerMeta(lm, numeric, sparse, `${at} layer ${l}`));
  return { numeric, sparse, meta: top.meta, layers };
}

/** `x` as an object with exactly `keys` (an extra key would mean a writer this hwgen does not know). */
function fields(x: unknown, keys: string[], at: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new HwgenError(`${at}: expected an object, found ${describe(x)}; ${CORRUPT}`);
  const rec = x as Record<string, unknown>;
  for (const k of keys) if (!Object.hasOwn(rec, k)) throw new HwgenError(`${at}: missing key "${k}"; ${CORRUPT}`);
  for (const k of Object.keys(rec)) if (!keys.includes(k)) throw new HwgenError(`${at}: unexpected key "${k}"; ${NEWER}`);
  return rec;
}

function parseLayerMeta(x: unknown, numeric: NumericFormat, sparse: SparseFormat, at: string): LayerMeta {
  const kind = typeof x === 'object' && x !== null ? (x as Record<string, unknown>).kind : undefined;
  if (typeof kind !== 'string') throw new HwgenError(`${at}: kind is ${describe(kind)}; ${CORRUPT}`);
  if (!KNOWN_KINDS.has(kind)) throw new HwgenError(`${at}: layer kind ${JSON.stringify(kind)} is not known to this hwgen; ${NEWER}`);
  if (kind !== 'eie') throw new HwgenError(`${at}: a ${kind} layer in a bundle with a sparse format; a bundle holds one engine's layers; ${CORRUPT}`);
  const rec = fields(x, ['kind', 'name', 'rows', 'cols', 'bits', 'wFrac', 'relu', 'codebook', 'entries'], at);
  if (!Array.isArray(rec.codebook)) throw new HwgenError(`${at}: codebook is ${describe(rec.codebook)}; it must be an array of integers`);
  const lm = rec as unknown as LayerMeta;
  const named = `${at} '${String(rec.name)}'`;
  validateLayerHead(lm, numeric, sparse, named);
  if (!Array.isArray(rec.entries) || rec.entries.length !== sparse.pes) {
    throw new HwgenError(`${named}: entries must list one count per PE (pes = ${sparse.pes}); ${CORRUPT}`);
  }
  rec.entries.forEach((n: unknown, p: number) => checkInt(n, 0, U32_MAX, named, `entries[${p}]`));
  return lm;
}

function decodeEieLayer(lm: LayerMeta, l: number, sections: Map<string, ReadSection>, head: MetaHead, where: string): EieLayer {
  const at = layerAt(where, l, lm.name);
  const sec = (tag: string): ReadSection => {
    const s = sections.get(key(tag, l));
    if (!s) throw new HwgenError(`${at}: no ${tag} section; ${CORRUPT}`);
    sections.delete(key(tag, l));
    return s;
  };
  const { pes, vBits, zBits } = head.sparse;
  const ptrs = readPtrs(sec('PTRS'), pes, lm.cols, at);
  const bias = readBias(sec('BIAS'), lm.rows, at);
  const total = lm.entries.reduce((a, b) => a + b, 0);
  const vAll = readHuff(sec('VHUF'), vBits, total, at);
  const zAll = readHuff(sec('ZHUF'), zBits, total, at);

  const slices: PeSlice[] = [];
  let o = 0;
  for (let p = 0; p < pes; p++) {
    const n = lm.entries[p];
    slices.push({ ptr: ptrs[p], v: vAll.slice(o, o + n), z: zAll.slice(o, o + n) });
    o += n;
  }
  const layer: EieLayer = {
    kind: 'eie',
    name: lm.name,
    rows: lm.rows,
    cols: lm.cols,
    bits: lm.bits,
    codebook: Int32Array.from(lm.codebook),
    wFrac: lm.wFrac,
    bias,
    relu: lm.relu,
    slices,
  };
  validateSlices(layer, head.sparse, at);
  validateBias(bias, lm.rows, head.numeric.accBits, at);
  return layer;
}

function payloadView(s: ReadSection): DataView {
  return new DataView(s.payload.buffer, s.payload.byteOffset, s.payload.byteLength);
}

function expectLength(s: ReadSection, want: number, what: string, at: string): void {
  if (s.payload.length !== want) {
    throw new HwgenError(`${at}: ${s.tag} section at byte ${s.offset} has ${s.payload.length} payload bytes; ${what} needs ${want}; ${CORRUPT}`);
  }
}

function readPtrs(s: ReadSection, pes: number, cols: number, at: string): Uint32Array[] {
  expectLength(s, pes * (cols + 1) * 4, `pes = ${pes} × (cols + 1 = ${cols + 1}) u32`, at);
  const dv = payloadView(s);
  const out: Uint32Array[] = [];
  for (let p = 0; p < pes; p++) {
    const ptr = new Uint32Array(cols + 1);
    for (let j = 0; j <= cols; j++) ptr[j] = dv.getUint32((p * (cols + 1) + j) * 4, true);
    out.push(ptr);
  }
  return out;
}

function readBias(s: ReadSection, rows: number, at: string): Float64Array {
  expectLength(s, rows * 8, `rows = ${rows} × int64`, at);
  const dv = payloadView(s);
  const bias = new Float64Array(rows);
  // hi * 2^32 + lo is exact whenever the value is within accBits (<= 48); larger values fail validateBias anyway.
  for (let i = 0; i < rows; i++) bias[i] = dv.getInt32(i * 8 + 4, true) * 2 ** 32 + dv.getUint32(i * 8, true);
  return bias;
}

function readHuff(s: ReadSection, symBits: number, expected: number, at: string): Uint8Array {
  const where = `${at} ${s.tag} (byte ${s.offset})`;
  const alphabet = 2 ** symBits;
  if (s.payload.length < alphabet + 8) {
    throw new HwgenError(`${where}: ${s.payload.length} payload bytes cannot hold ${alphabet} code lengths plus counts; ${CORRUPT}`);
  }
  const dv = payloadView(s);
  const count = dv.getUint32(alphabet, true);
  const bitLength = dv.getUint32(alphabet + 4, true);
  if (count !== expected) throw new HwgenError(`${where}: ${count} symbols, but META's per-PE entry counts add up to ${expected}; ${CORRUPT}`);
  const bits = s.payload.subarray(alphabet + 8);
  if (bits.length !== Math.ceil(bitLength / 8)) {
    throw new HwgenError(`${where}: ${bits.length} bytes of packed bits, but a bit length of ${bitLength} needs ${Math.ceil(bitLength / 8)}; ${CORRUPT}`);
  }
  if (bitLength % 8 !== 0 && (bits[bits.length - 1] & (0xff >> bitLength % 8)) !== 0) {
    throw new HwgenError(`${where}: padding bits after the last code are not zero; ${CORRUPT}`);
  }
  const lengths = s.payload.subarray(0, alphabet);
  for (let i = 0; i < alphabet; i++) {
    if (lengths[i] > BUNDLE_MAX_CODE_LEN) throw new HwgenError(`${where}: symbol ${i} has code length ${lengths[i]} > ${BUNDLE_MAX_CODE_LEN}; ${CORRUPT}`);
  }
  return huffmanDecode(bits, bitLength, count, lengths, where);
}

// ───────────────────────────── files ─────────────────────────────

/** Writes atomically (temp file, fsync, rename); an invalid bundle fails before any file is touched. */
export function writeBundle(path: string, b: AnyBundle): void {
  writeFileAtomic(path, encode(b, path), 'bundle');
}

/** Reads an EIE bundle (a binary one is refused with a clear message). */
export function readBundle(path: string): Bundle {
  const buf = readFileChecked(path, 'bundle');
  return decodeBundle(buf, path);
}

/** Reads a bundle of either engine. */
export function readAnyBundle(path: string): AnyBundle {
  const buf = readFileChecked(path, 'bundle');
  return decodeAnyBundle(buf, path);
}

// ───────────────────────────── binary (XNOR) bundles ─────────────────────────────

const XNOR_LAYER_KEYS = ['kind', 'name', 'rows', 'cols', 'input', 'output', 'alphaFrac', 'pool', 'conv'];
const CONV_KEYS = ['inChannels', 'inHeight', 'inWidth', 'kernel', 'padding'];

function validateConv(c: ConvShape, cols: number, at: string): void {
  checkInt(c.inChannels, 1, 1 << 20, at, 'conv.inChannels');
  checkInt(c.inHeight, 1, 1 << 16, at, 'conv.inHeight');
  checkInt(c.inWidth, 1, 1 << 16, at, 'conv.inWidth');
  checkInt(c.kernel, 1, 64, at, 'conv.kernel');
  if (c.padding !== 'valid' && c.padding !== 'same') throw new HwgenError(`${at}: conv.padding is ${describe(c.padding)}; it must be "valid" or "same"`);
  if (c.inChannels * c.kernel * c.kernel !== cols) {
    throw new HwgenError(`${at}: cols = ${cols}, but a ${c.kernel}x${c.kernel} kernel over ${c.inChannels} channels has ${c.inChannels * c.kernel * c.kernel} inputs`);
  }
  const g = convGeometry(c);
  if (g.outH < 1 || g.outW < 1) throw new HwgenError(`${at}: a ${c.kernel}x${c.kernel} 'valid' convolution does not fit the ${c.inHeight}x${c.inWidth} input`);
}

/** The small facts of an XNOR layer (what META carries). */
function validateXnorHead(l: XnorLayer, at: string): void {
  if (typeof l.name !== 'string') throw new HwgenError(`${at}: name is ${describe(l.name)}; it must be a string`);
  checkInt(l.rows, 1, 1 << 24, at, 'rows');
  checkInt(l.cols, 1, 1 << 24, at, 'cols');
  if (l.input !== 'binary' && l.input !== 'fixed') throw new HwgenError(`${at}: input is ${describe(l.input)}; it must be "binary" or "fixed"`);
  if (l.output !== 'threshold' && l.output !== 'scores') throw new HwgenError(`${at}: output is ${describe(l.output)}; it must be "threshold" or "scores"`);
  checkInt(l.alphaFrac, 0, 31, at, 'alphaFrac');
  checkInt(l.pool, 1, 64, at, 'pool');
  if (l.conv !== undefined) validateConv(l.conv, l.cols, at);
  if (l.pool > 1 && (!l.conv || l.output !== 'threshold')) throw new HwgenError(`${at}: pool = ${l.pool}; max-pooling follows a convolution with a threshold output only`);
  if (l.conv && l.pool > 1) {
    const g = convGeometry(l.conv);
    if (g.outH < l.pool || g.outW < l.pool) throw new HwgenError(`${at}: a ${l.pool}x${l.pool} pool does not fit the ${g.outH}x${g.outW} output`);
  }
}

function validateXnorLayer(l: XnorLayer, numeric: NumericFormat, at: string): void {
  validateXnorHead(l, at);
  const rb = rowBytes(l.cols);
  if (l.weights.length !== l.rows * rb) throw new HwgenError(`${at}: ${l.weights.length} weight bytes; rows = ${l.rows} × ${rb} bytes per row needs ${l.rows * rb}`);
  if (l.cols % 8) {
    const pad = 0xff << (l.cols % 8) & 0xff;
    for (let i = 0; i < l.rows; i++) {
      if (l.weights[i * rb + rb - 1] & pad) throw new HwgenError(`${at}: row ${i} has padding bits set after bit ${l.cols - 1}; they must be 0`);
    }
  }
  if (l.output === 'threshold') {
    if (l.threshold.length !== l.rows || l.flip.length !== l.rows) {
      throw new HwgenError(`${at}: ${l.threshold.length} thresholds and ${l.flip.length} flips; rows = ${l.rows} needs ${l.rows} of each`);
    }
    if (l.alpha.length || l.bias.length || l.alphaFrac !== 0) throw new HwgenError(`${at}: a threshold layer carries no alpha, bias or alphaFrac`);
    const { min, max } = l.input === 'binary' ? { min: 0, max: l.cols } : bwnAccRange(l.cols, numeric.actBits);
    for (let i = 0; i < l.rows; i++) {
      checkInt(l.threshold[i], min, max + 1, at, `threshold[${i}]`);
      checkInt(l.flip[i], 0, 1, at, `flip[${i}]`);
    }
  } else {
    if (l.alpha.length !== l.rows || l.bias.length !== l.rows) {
      throw new HwgenError(`${at}: ${l.alpha.length} alphas and ${l.bias.length} biases; rows = ${l.rows} needs ${l.rows} of each`);
    }
    if (l.threshold.length || l.flip.length) throw new HwgenError(`${at}: a scores layer carries no thresholds`);
    const am = signedMax(numeric.weightBits);
    const bm = signedMax(numeric.accBits);
    for (let i = 0; i < l.rows; i++) {
      checkInt(l.alpha[i], -am - 1, am, at, `alpha[${i}] (signed weightBits = ${numeric.weightBits})`);
      checkInt(l.bias[i], -bm - 1, bm, at, `bias[${i}] (signed accBits = ${numeric.accBits})`);
    }
    if (scoreShift(l, numeric) < 0) throw new HwgenError(`${at}: alphaFrac = ${l.alphaFrac} leaves the scores fewer fractional bits than actFrac = ${numeric.actFrac}`);
  }
}

function validateBinaryChain(layers: XnorLayer[], where: string): void {
  checkLayerNames(layers.map((l) => l.name), where, CORRUPT);
  layers.forEach((l, i) => {
    const at = layerAt(where, i, l.name);
    if (i > 0 && l.input !== 'binary') throw new HwgenError(`${at}: only the first layer may take fixed-point input (BWN); later layers take the bits of the one before`);
    if (i + 1 < layers.length && l.output !== 'threshold') throw new HwgenError(`${at}: only the last layer may output scores; hidden layers output bits`);
    if (i + 1 < layers.length && layerOutputs(l) !== layerInputs(layers[i + 1])) {
      throw new HwgenError(
        `${where}: layer ${i} '${l.name}' gives ${layerOutputs(l)} outputs but layer ${i + 1} '${layers[i + 1].name}' takes ${layerInputs(layers[i + 1])} inputs; consecutive layers must chain`,
      );
    }
  });
}

export function validateBinaryBundle(b: BinaryBundle, where: string): void {
  for (const x of [b.numeric.actBits, b.numeric.actFrac, b.numeric.weightBits, b.numeric.accBits]) {
    if (typeof x !== 'number') throw new HwgenError(`${where}: a format field is ${describe(x)}; ${CORRUPT}`);
  }
  checkNumeric(b.numeric, `${where}: numeric format`);
  validateMetaRecord(b.meta, where);
  if (b.layers.length === 0) throw new HwgenError(`${where}: the bundle has no layers; a model needs at least one`);
  b.layers.forEach((l, i) => {
    const at = layerAt(where, i, l.name);
    if (l.kind !== 'xnor') throw new HwgenError(`${at}: a ${describe(l.kind)} layer in a binary bundle; a bundle holds one engine's layers`);
    validateXnorLayer(l, b.numeric, at);
  });
  validateBinaryChain(b.layers, where);
}

function int64Bytes(values: ArrayLike<number>): Uint8Array {
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

function readInt64(dv: DataView, o: number): number {
  return dv.getInt32(o + 4, true) * 2 ** 32 + dv.getUint32(o, true);
}

function encodeBinary(b: BinaryBundle, where: string): Uint8Array {
  validateBinaryBundle(b, where);
  const { actBits, actFrac, weightBits, accBits } = b.numeric;
  const meta = Object.fromEntries(Object.keys(b.meta).sort().map((k) => [k, b.meta[k]]));
  const json = JSON.stringify({
    generator: `hwgen ${HWGEN_VERSION}`,
    engine: b.engine,
    numeric: { actBits, actFrac, weightBits, accBits },
    meta,
    layers: b.layers.map((l) => ({
      kind: l.kind, name: l.name, rows: l.rows, cols: l.cols, input: l.input, output: l.output, alphaFrac: l.alphaFrac, pool: l.pool,
      conv: l.conv ? { inChannels: l.conv.inChannels, inHeight: l.conv.inHeight, inWidth: l.conv.inWidth, kernel: l.conv.kernel, padding: l.conv.padding } : null,
    })),
  });
  const sections: Section[] = [{ tag: 'META', index: WHOLE_BUNDLE, payload: new TextEncoder().encode(json) }];
  b.layers.forEach((l, i) => {
    sections.push({ tag: 'XWGT', index: i, payload: l.weights });
    if (l.output === 'threshold') {
      const flips = new Uint8Array(Math.ceil(l.rows / 8));
      l.flip.forEach((f, r) => (flips[r >> 3] |= f << (r & 7)));
      sections.push({ tag: 'XTHR', index: i, payload: concat([int64Bytes(l.threshold), flips]) });
    } else {
      const a = new Uint8Array(l.rows * 4);
      const dv = new DataView(a.buffer);
      l.alpha.forEach((x, r) => dv.setInt32(r * 4, x, true));
      sections.push({ tag: 'XSCL', index: i, payload: concat([a, int64Bytes(l.bias)]) });
    }
  });
  return assemble(sections);
}

function decodeBinary(json: Record<string, unknown>, metaSec: ReadSection, sections: Map<string, ReadSection>, where: string): BinaryBundle {
  const at = `${where}: META (byte ${metaSec.offset})`;
  const top = fields(json, ['generator', 'numeric', 'meta', 'layers'], at);
  if (typeof top.generator !== 'string') throw new HwgenError(`${at}: generator is ${describe(top.generator)}; it must be a string`);
  const numeric = fields(top.numeric, ['actBits', 'actFrac', 'weightBits', 'accBits'], `${at} numeric`) as unknown as NumericFormat;
  for (const x of Object.values(numeric)) if (typeof x !== 'number') throw new HwgenError(`${at}: a format field is ${describe(x)}; ${CORRUPT}`);
  checkNumeric(numeric, `${at}: numeric format`);
  validateMetaRecord(top.meta, at);
  if (!Array.isArray(top.layers) || top.layers.length === 0) throw new HwgenError(`${at}: layers is ${describe(top.layers)}; it must be a non-empty array`);
  const layers = top.layers.map((x: unknown, i: number): XnorLayer => {
    const lat = `${at} layer ${i}`;
    const kind = typeof x === 'object' && x !== null ? (x as Record<string, unknown>).kind : undefined;
    if (typeof kind !== 'string') throw new HwgenError(`${lat}: kind is ${describe(kind)}; ${CORRUPT}`);
    if (!KNOWN_KINDS.has(kind)) throw new HwgenError(`${lat}: layer kind ${JSON.stringify(kind)} is not known to this hwgen; ${NEWER}`);
    if (kind !== 'xnor') throw new HwgenError(`${lat}: a ${kind} layer in a bundle without a sparse format; a bundle holds one engine's layers; ${CORRUPT}`);
    const rec = fields(x, XNOR_LAYER_KEYS, lat);
    const conv = rec.conv === null ? undefined : (fields(rec.conv, CONV_KEYS, `${lat} conv`) as unknown as ConvShape);
    const head: XnorLayer = {
      kind: 'xnor', name: rec.name as string, rows: rec.rows as number, cols: rec.cols as number,
      input: rec.input as XnorLayer['input'], output: rec.output as XnorLayer['output'],
      weights: new Uint8Array(0), threshold: new Float64Array(0), flip: new Uint8Array(0), alpha: new Int32Array(0), bias: new Float64Array(0),
      alphaFrac: rec.alphaFrac as number, conv, pool: rec.pool as number,
    };
    const named = layerAt(where, i, head.name);
    validateXnorHead(head, named);
    const sec = (tag: string): ReadSection => {
      const s = sections.get(key(tag, i));
      if (!s) throw new HwgenError(`${named}: no ${tag} section; ${CORRUPT}`);
      sections.delete(key(tag, i));
      return s;
    };
    const w = sec('XWGT');
    expectLength(w, head.rows * rowBytes(head.cols), `rows = ${head.rows} × ${rowBytes(head.cols)} bytes`, named);
    head.weights = new Uint8Array(w.payload);
    if (head.output === 'threshold') {
      const t = sec('XTHR');
      expectLength(t, head.rows * 8 + Math.ceil(head.rows / 8), `rows = ${head.rows} × int64 + flip bits`, named);
      const dv = payloadView(t);
      head.threshold = Float64Array.from({ length: head.rows }, (_, r) => readInt64(dv, r * 8));
      head.flip = Uint8Array.from({ length: head.rows }, (_, r) => (t.payload[head.rows * 8 + (r >> 3)] >> (r & 7)) & 1);
      if (Math.ceil(head.rows / 8) > 0 && head.rows % 8 && t.payload[t.payload.length - 1] >> head.rows % 8) {
        throw new HwgenError(`${named}: XTHR flip bits past row ${head.rows - 1} are set; ${CORRUPT}`);
      }
    } else {
      const s = sec('XSCL');
      expectLength(s, head.rows * 12, `rows = ${head.rows} × (int32 + int64)`, named);
      const dv = payloadView(s);
      head.alpha = Int32Array.from({ length: head.rows }, (_, r) => dv.getInt32(r * 4, true));
      head.bias = Float64Array.from({ length: head.rows }, (_, r) => readInt64(dv, head.rows * 4 + r * 8));
    }
    validateXnorLayer(head, numeric, named);
    return head;
  });
  for (const s of sections.values()) {
    const owner = s.index === WHOLE_BUNDLE ? 'the whole bundle' : `layer ${s.index}`;
    throw new HwgenError(`${where}: section ${s.tag} for ${owner} at byte ${s.offset} does not belong to any of the ${layers.length} layers META lists; ${CORRUPT}`);
  }
  validateBinaryChain(layers, where);
  return { engine: 'xnor', numeric, layers, meta: top.meta as BinaryBundle['meta'] };
}

import { crc32 } from 'node:zlib';
import { readFileChecked, writeFileAtomic } from '../atomic.js';
import { localRows } from '../compress/csc.js';
import { huffmanDecode, huffmanEncode, huffmanLengths } from '../compress/huffman.js';
import { HwgenError } from '../errors.js';
import { HWGEN_VERSION } from '../paths.js';
import { checkNumeric, checkSparse } from './limits.js';
import type { Bundle, EieLayer, NumericFormat, PeSlice, SparseFormat } from './types.js';

/**
 * The `.hwb` bundle: the compressed model every stage after `hwgen compress` reads. docs/bundle.md describes
 * the layout byte by byte; in short, a CRC-protected header, then CRC-protected sections (META with the
 * small facts as JSON, then per EIE layer PTRS, BIAS, VHUF, ZHUF). All integers are little-endian.
 */

export const BUNDLE_MAGIC = 'HWGB';
export const BUNDLE_VERSION = 1;
/** Layer index of a section that belongs to the whole bundle. */
export const WHOLE_BUNDLE = 0xffffffff;
/** Longest Huffman code the writer uses. */
export const BUNDLE_MAX_CODE_LEN = 16;

const HEADER_BYTES = 16; // magic, version, flags, section count, CRC
const SECTION_HEAD_BYTES = 12; // tag, layer index, payload length
const U32_MAX = 0xffffffff;

/** Section tags this hwgen reads; any other tag means a newer writer. */
const EIE_TAGS = ['PTRS', 'BIAS', 'VHUF', 'ZHUF'] as const;
const KNOWN_TAGS = new Set<string>(['META', ...EIE_TAGS]);
const KNOWN_KINDS = new Set<string>(['eie']);

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
export function validateBundle(b: Bundle, where: string): void {
  validateFormats(b.numeric, b.sparse, where);
  validateMetaRecord(b.meta, where);
  if (b.layers.length === 0) throw new HwgenError(`${where}: the bundle has no layers; a model needs at least one`);
  b.layers.forEach((layer, l) => {
    const at = layerAt(where, l, layer.name);
    if (!KNOWN_KINDS.has(layer.kind)) throw new HwgenError(`${at}: unknown layer kind ${describe(layer.kind)}`);
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

export function encodeBundle(b: Bundle): Uint8Array {
  return encode(b, 'bundle');
}

function encode(b: Bundle, where: string): Uint8Array {
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

export function decodeBundle(buf: Uint8Array, where: string): Bundle {
  const sections = readSections(buf, where);
  const metaSec = sections.get(key('META', WHOLE_BUNDLE));
  if (!metaSec) throw new HwgenError(`${where}: no META section; ${CORRUPT}`);
  sections.delete(key('META', WHOLE_BUNDLE));
  const head = parseMeta(metaSec, where);

  const layers = head.layers.map((lm, l) => decodeEieLayer(lm, l, sections, head, where));
  for (const s of sections.values()) {
    const owner = s.index === WHOLE_BUNDLE ? 'the whole bundle' : `layer ${s.index}`;
    throw new HwgenError(`${where}: section ${s.tag} for ${owner} at byte ${s.offset} does not belong to any of the ${layers.length} layers META lists; ${CORRUPT}`);
  }
  validateChain(layers, where);
  return { numeric: head.numeric, sparse: head.sparse, layers, meta: head.meta };
}

function key(tag: string, index: number): string {
  return `${tag}/${index}`;
}

/** Checks header and framing and every CRC; returns the sections by (tag, layer index). */
function readSections(buf: Uint8Array, where: string): Map<string, ReadSection> {
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
  return sections;
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

function parseMeta(sec: ReadSection, where: string): MetaHead {
  const at = `${where}: META (byte ${sec.offset})`;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(sec.payload));
  } catch (e) {
    throw new HwgenError(`${at}: not valid UTF-8 JSON (${(e as Error).message}); ${CORRUPT}`);
  }
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
export function writeBundle(path: string, b: Bundle): void {
  writeFileAtomic(path, encode(b, path), 'bundle');
}

export function readBundle(path: string): Bundle {
  const buf = readFileChecked(path, 'bundle');
  return decodeBundle(buf, path);
}

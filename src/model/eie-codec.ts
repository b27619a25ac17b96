import { HwgenError } from '../errors.js';
import { CORRUPT, U32_MAX, type ReadSection, type Section } from './container.js';
import { checkInt, checkLayerKind, concat, describe, expectLength, fields, int64Bytes, layerAt, need, payloadView, readInt64, signedMax, type MetaParts, type SegmentCodec } from './codec.js';
import { huffmanDecode, huffmanEncode, huffmanLengths } from './huffman.js';
import { localRows } from './layout.js';
import { checkNumeric, checkSparse } from './limits.js';
import { checkMetaParts, checkNumericTypes, validateMetaRecord } from './meta.js';
import { checkLayerNames } from './names.js';
import type { Bundle, EieLayer, NumericFormat, PeSlice, SparseFormat } from './types.js';

/**
 * The EIE engine's segment (docs/bundle.md, "Per EIE layer"): META's `sparse` format and layer records, and per
 * layer PTRS (column pointers), BIAS (int64), VHUF and ZHUF (the v and z streams, Huffman-coded).
 */

/** Longest Huffman code the writer uses. */
export const BUNDLE_MAX_CODE_LEN = 16;
const LAYER_KEYS = ['kind', 'name', 'rows', 'cols', 'bits', 'wFrac', 'relu', 'codebook', 'entries'];

export function validateFormats(numeric: NumericFormat, sparse: SparseFormat, where: string): void {
  checkNumericTypes({ ...numeric, ...sparse }, where);
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

function validate(b: Bundle, where: string): void {
  validateFormats(b.numeric, b.sparse, where);
  validateMetaRecord(b.meta, where);
  if (b.layers.length === 0) throw new HwgenError(`${where}: the bundle has no layers; a model needs at least one`);
  b.layers.forEach((layer, l) => {
    const at = layerAt(where, l, layer.name);
    if (layer.kind !== 'eie') throw new HwgenError(`${at}: a ${describe(layer.kind)} layer in an EIE bundle; a bundle holds one engine's layers`);
    validateLayerHead(layer, b.numeric, b.sparse, at);
    validateSlices(layer, b.sparse, at);
    validateBias(layer.bias, layer.rows, b.numeric.accBits, at);
  });
  validateChain(b.layers, where);
}

// ───────────────────────────── encoding ─────────────────────────────

function encode(b: Bundle, where: string): ReturnType<SegmentCodec['encode']> {
  const { pes, vBits, zBits } = b.sparse;
  const layers = b.layers.map((l) => ({
    kind: l.kind,
    name: l.name,
    rows: l.rows,
    cols: l.cols,
    bits: l.bits,
    wFrac: l.wFrac,
    relu: l.relu,
    codebook: Array.from(l.codebook),
    entries: l.slices.map((s) => s.v.length),
  }));
  const sections = b.layers.flatMap((layer, l) => layerSections(layer, l, b.sparse, layerAt(where, l, layer.name)));
  return { formats: { sparse: { pes, vBits, zBits } }, layers, sections };
}

function layerSections(layer: EieLayer, l: number, sparse: SparseFormat, at: string): Section[] {
  const ptrs = new Uint8Array(sparse.pes * (layer.cols + 1) * 4);
  const pv = new DataView(ptrs.buffer);
  layer.slices.forEach((s, p) => s.ptr.forEach((x, j) => pv.setUint32((p * (layer.cols + 1) + j) * 4, x, true)));
  return [
    { tag: 'PTRS', index: l, payload: ptrs },
    { tag: 'BIAS', index: l, payload: int64Bytes(layer.bias) },
    { tag: 'VHUF', index: l, payload: huffPayload(concat(layer.slices.map((s) => s.v)), sparse.vBits, `${at} VHUF`) },
    { tag: 'ZHUF', index: l, payload: huffPayload(concat(layer.slices.map((s) => s.z)), sparse.zBits, `${at} ZHUF`) },
  ];
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

// ───────────────────────────── decoding ─────────────────────────────

/** A layer as META describes it, before its sections are read. */
interface LayerMeta extends LayerHead {
  kind: 'eie';
  entries: number[];
}

function decode(parts: MetaParts, take: (tag: string, l: number) => ReadSection | undefined, where: string): Bundle {
  const { at, numeric } = parts;
  const sparse = fields(parts.formats.sparse, ['pes', 'vBits', 'zBits'], `${at} sparse`) as unknown as SparseFormat;
  validateFormats(numeric, sparse, at);
  checkMetaParts(parts);
  const metas = parts.layers.map((lm, l) => parseLayerMeta(lm, parts.kinds, numeric, sparse, `${at} layer ${l}`));
  const layers = metas.map((lm, l) => decodeLayer(lm, l, take, numeric, sparse, where));
  validateChain(layers, where);
  return { engine: 'eie', numeric, sparse, layers, meta: parts.meta };
}

function parseLayerMeta(x: unknown, kinds: ReadonlySet<string>, numeric: NumericFormat, sparse: SparseFormat, at: string): LayerMeta {
  checkLayerKind(x, kinds, 'eie', 'a bundle with a sparse format', at);
  const rec = fields(x, LAYER_KEYS, at);
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

function decodeLayer(lm: LayerMeta, l: number, take: (tag: string, l: number) => ReadSection | undefined, numeric: NumericFormat, sparse: SparseFormat, where: string): EieLayer {
  const at = layerAt(where, l, lm.name);
  const { pes, vBits, zBits } = sparse;
  const ptrs = readPtrs(need(take, 'PTRS', l, at), pes, lm.cols, at);
  const bias = readBias(need(take, 'BIAS', l, at), lm.rows, at);
  const total = lm.entries.reduce((a, b) => a + b, 0);
  const vAll = readHuff(need(take, 'VHUF', l, at), vBits, total, at);
  const zAll = readHuff(need(take, 'ZHUF', l, at), zBits, total, at);

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
  validateSlices(layer, sparse, at);
  validateBias(bias, lm.rows, numeric.accBits, at);
  return layer;
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
  return Float64Array.from({ length: rows }, (_, i) => readInt64(dv, i * 8));
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

export const eieCodec: SegmentCodec<Bundle> = {
  engine: 'eie',
  tags: ['PTRS', 'BIAS', 'VHUF', 'ZHUF'],
  formatKeys: ['sparse'],
  validate,
  encode,
  decode,
  inputs: (b) => b.layers[0].cols,
  outputs: (b) => b.layers[b.layers.length - 1].rows,
};

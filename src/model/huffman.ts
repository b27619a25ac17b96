import { HwgenError } from '../errors.js';

/**
 * Canonical Huffman coding of byte-sized symbols (the v and z streams of a bundle, step 4 of Deep Compression).
 *
 * Codes are canonical as in DEFLATE: symbols are ordered by (code length, symbol value) and take consecutive
 * code values, the first code of each length being (last code of the previous length + 1) << 1. Only the
 * lengths need storing.
 *
 * Bit order: codes are packed MSB-first. The first symbol's code starts at bit 7 (the most significant bit) of
 * byte 0, and each code is written from its most significant bit down; bit k of the stream is bit 7 - (k % 8)
 * of byte floor(k / 8). Unused bits of the last byte are 0.
 */

/** Longest code any function here accepts (codes are handled as unsigned 32-bit numbers). */
export const MAX_CODE_LEN = 32;

/** Largest alphabet: symbols are bytes. */
const MAX_SYMBOLS = 256;

/** Lookup width of the decoder's table; longer codes take the slow canonical path. */
const TABLE_BITS = 11;

/**
 * Optimal code lengths with every length <= maxLen (package-merge, Larmore & Hirschberg).
 * A symbol with count 0 gets length 0; a single used symbol gets length 1; all-zero counts give all zeros.
 */
export function huffmanLengths(counts: ArrayLike<number>, maxLen = 16): Uint8Array {
  checkCounts(counts);
  if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > MAX_CODE_LEN) {
    throw new HwgenError(`huffmanLengths: maxLen ${maxLen} is not an integer in 1..${MAX_CODE_LEN}`);
  }
  const lengths = new Uint8Array(counts.length);
  // Used symbols by ascending (count, symbol): package-merge takes leaves as prefixes of this order.
  const used: number[] = [];
  for (let s = 0; s < counts.length; s++) if (counts[s] > 0) used.push(s);
  used.sort((a, b) => counts[a] - counts[b] || a - b);
  if (used.length === 0) return lengths;
  if (used.length === 1) {
    lengths[used[0]] = 1;
    return lengths;
  }
  if (used.length > 2 ** maxLen) {
    throw new HwgenError(`huffmanLengths: ${used.length} used symbols cannot get codes of at most ${maxLen} bits`);
  }
  const leafTaken = packageMerge(
    used.map((s) => counts[s]),
    maxLen,
  );
  // A leaf taken at k levels is a symbol k bits deep.
  for (const taken of leafTaken) for (let j = 0; j < taken; j++) lengths[used[j]]++;
  return lengths;
}

/**
 * Package-merge over ascending weights: returns, for each of the maxLen levels, how many leaves (a prefix of
 * the sorted weights) the optimal solution takes there.
 */
function packageMerge(weights: number[], maxLen: number): number[] {
  const m = weights.length;
  // levels[d] = the merged list of depth d + 1 (levels[maxLen - 1] holds leaves only).
  const levels: { weight: Float64Array; leaf: Uint8Array }[] = new Array(maxLen);
  levels[maxLen - 1] = { weight: Float64Array.from(weights), leaf: new Uint8Array(m).fill(1) };
  for (let d = maxLen - 2; d >= 0; d--) levels[d] = mergeLevel(weights, levels[d + 1].weight);

  const taken: number[] = [];
  let take = 2 * m - 2; // a full binary tree with m leaves has 2m - 2 non-root nodes
  for (let d = 0; d < maxLen && take > 0; d++) {
    let leaves = 0;
    for (let i = 0; i < take; i++) leaves += levels[d].leaf[i];
    taken.push(leaves);
    take = 2 * (take - leaves); // each package taken stands for two items of the next level
  }
  return taken;
}

/** Merges the leaves with the packages (adjacent pairs) of the deeper list; leaves first on ties. */
function mergeLevel(leaves: number[], deeper: Float64Array): { weight: Float64Array; leaf: Uint8Array } {
  const packages = deeper.length >> 1;
  const size = leaves.length + packages;
  const weight = new Float64Array(size);
  const leaf = new Uint8Array(size);
  let a = 0;
  let b = 0;
  for (let i = 0; i < size; i++) {
    const pkg = b < packages ? deeper[2 * b] + deeper[2 * b + 1] : Infinity;
    if (a < leaves.length && leaves[a] <= pkg) {
      weight[i] = leaves[a++];
      leaf[i] = 1;
    } else {
      weight[i] = pkg;
      b++;
    }
  }
  return { weight, leaf };
}

function checkCounts(counts: ArrayLike<number>): void {
  if (counts.length > MAX_SYMBOLS) {
    throw new HwgenError(`huffmanLengths: alphabet of ${counts.length} symbols; at most ${MAX_SYMBOLS} are supported`);
  }
  for (let s = 0; s < counts.length; s++) {
    const c = counts[s];
    if (!Number.isFinite(c) || c < 0) throw new HwgenError(`huffmanLengths: count of symbol ${s} is ${c}, not a finite number >= 0`);
  }
}

/** What a valid set of code lengths looks like, for building codes and decode tables. */
interface CodeShape {
  /** Symbols with a code. */
  used: number;
  /** Longest code length in use. */
  maxUsed: number;
  /** Symbols per length, index 0..maxUsed. */
  perLength: Uint32Array;
}

/**
 * Checks that `lengths` describe a prefix code that is complete (Kraft sum exactly 1) whenever more than one
 * symbol is used; a single symbol may have any length.
 */
function codeShape(lengths: Uint8Array, where: string): CodeShape {
  if (lengths.length > MAX_SYMBOLS) {
    throw new HwgenError(`${where}: code length table has ${lengths.length} entries; at most ${MAX_SYMBOLS} are supported`);
  }
  const perLength = new Uint32Array(MAX_CODE_LEN + 1);
  let used = 0;
  let maxUsed = 0;
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s];
    if (l === 0) continue;
    if (l > MAX_CODE_LEN) {
      throw new HwgenError(`${where}: symbol ${s} has code length ${l}, longer than ${MAX_CODE_LEN}; the code table is corrupt`);
    }
    perLength[l]++;
    used++;
    if (l > maxUsed) maxUsed = l;
  }
  if (used > 1) {
    // Kraft sum scaled by 2^MAX_CODE_LEN: at most 256 * 2^31, exact in a double.
    let kraft = 0;
    for (let l = 1; l <= maxUsed; l++) kraft += perLength[l] * 2 ** (MAX_CODE_LEN - l);
    const full = 2 ** MAX_CODE_LEN;
    if (kraft > full) throw new HwgenError(`${where}: code lengths are over-subscribed (not a prefix code); the code table is corrupt`);
    if (kraft < full) throw new HwgenError(`${where}: code lengths are incomplete (Kraft sum < 1); the code table is corrupt`);
  }
  return { used, maxUsed, perLength: perLength.subarray(0, maxUsed + 1) };
}

/** Canonical code value of every symbol (0 where the length is 0), as unsigned numbers. */
export function canonicalCodes(lengths: Uint8Array, where = 'huffman'): Float64Array {
  const { perLength, maxUsed } = codeShape(lengths, where);
  const next = new Float64Array(maxUsed + 2);
  let code = 0;
  // DEFLATE's rule: the first code of length l follows the last code of length l - 1, shifted left.
  for (let l = 1; l <= maxUsed; l++) {
    code = (code + perLength[l - 1]) * 2;
    next[l] = code;
  }
  const codes = new Float64Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s] > 0) codes[s] = next[lengths[s]]++;
  return codes;
}

/** Encodes `symbols` with the canonical code of `lengths`, MSB-first (see the bit order above). */
export function huffmanEncode(symbols: Uint8Array, lengths: Uint8Array): { bytes: Uint8Array; bitLength: number } {
  const codes = canonicalCodes(lengths, 'huffmanEncode');
  const bitLength = streamBits(symbols, lengths);
  const bytes = new Uint8Array(Math.ceil(bitLength / 8));
  let acc = 0; // pending bits, fewer than 8 between symbols
  let pending = 0;
  let o = 0;
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i];
    let len = lengths[s];
    let code = codes[s];
    // Codes longer than 16 bits go in two parts so `acc` never needs more than 24 bits.
    if (len > 16) {
      const lowBits = len - 16;
      const high = Math.floor(code / 2 ** lowBits);
      acc = (acc << 16) | high;
      pending += 16;
      while (pending >= 8) bytes[o++] = acc >>> (pending -= 8);
      acc &= (1 << pending) - 1;
      code -= high * 2 ** lowBits;
      len = lowBits;
    }
    acc = (acc << len) | code;
    pending += len;
    while (pending >= 8) bytes[o++] = acc >>> (pending -= 8);
    acc &= (1 << pending) - 1;
  }
  if (pending > 0) bytes[o] = acc << (8 - pending);
  return { bytes, bitLength };
}

/** Bits the stream takes; every symbol must have a code. */
function streamBits(symbols: Uint8Array, lengths: Uint8Array): number {
  const hist = new Float64Array(MAX_SYMBOLS);
  for (let i = 0; i < symbols.length; i++) hist[symbols[i]]++;
  let bits = 0;
  for (let s = 0; s < MAX_SYMBOLS; s++) {
    if (hist[s] === 0) continue;
    if (s >= lengths.length || lengths[s] === 0) {
      throw new HwgenError(`huffmanEncode: symbol ${s} occurs ${hist[s]} times but has no code (length 0)`);
    }
    bits += hist[s] * lengths[s];
  }
  return bits;
}

/** Total bits of a stream with symbol counts `counts` coded with `lengths` (for reports). */
export function huffmanBits(counts: ArrayLike<number>, lengths: Uint8Array): number {
  let bits = 0;
  for (let s = 0; s < counts.length; s++) {
    if (counts[s] === 0) continue;
    if (s >= lengths.length || lengths[s] === 0) throw new HwgenError(`huffmanBits: symbol ${s} is used but has no code`);
    bits += counts[s] * lengths[s];
  }
  return bits;
}

/**
 * Decodes exactly `count` symbols from the first `bitLength` bits of `bytes`, which must be used up exactly.
 * Table-driven: one lookup of TABLE_BITS bits decodes any code that short; longer codes are decoded
 * canonically bit by bit. Corrupt input (bad lengths, an invalid code, too few or too many bits) throws a
 * HwgenError naming `where`.
 */
export function huffmanDecode(bytes: Uint8Array, bitLength: number, count: number, lengths: Uint8Array, where: string): Uint8Array {
  checkStreamSize(bytes, bitLength, count, where);
  const shape = codeShape(lengths, where);
  const out = new Uint8Array(count);
  if (count === 0) return out;
  if (shape.used === 0) throw new HwgenError(`${where}: ${count} symbols to decode but no symbol has a code; the stream is corrupt`);

  const decoder = buildDecoder(lengths, shape);
  // Three zero bytes of slack let the 24-bit window read past the end without bounds checks.
  const buf = new Uint8Array(bytes.length + 3);
  buf.set(bytes);
  const { table, tableBits } = decoder;
  const mask = (1 << tableBits) - 1;
  const shiftBase = 24 - tableBits;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const at = pos >>> 3;
    const window = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
    const entry = table[(window >>> (shiftBase - (pos & 7))) & mask];
    if (entry !== 0) {
      out[i] = entry & 0xff;
      pos += entry >>> 8;
    } else {
      const r = decodeSlow(buf, pos, decoder, where);
      out[i] = r & 0xff;
      pos += r >>> 8;
    }
    if (pos > bitLength) throw new HwgenError(`${where}: stream ran out of bits at symbol ${i} of ${count}; the stream is corrupt`);
  }
  if (pos !== bitLength) {
    throw new HwgenError(`${where}: ${bitLength - pos} bits left over after ${count} symbols; the stream is corrupt`);
  }
  return out;
}

function checkStreamSize(bytes: Uint8Array, bitLength: number, count: number, where: string): void {
  if (!Number.isSafeInteger(bitLength) || bitLength < 0 || bitLength > 0xffffffff) {
    throw new HwgenError(`${where}: bit length ${bitLength} is not an integer in 0..2^32-1`);
  }
  if (!Number.isSafeInteger(count) || count < 0) throw new HwgenError(`${where}: symbol count ${count} is not an integer >= 0`);
  if (bitLength > bytes.length * 8) {
    throw new HwgenError(`${where}: bit length ${bitLength} exceeds the ${bytes.length} bytes given; the stream is truncated`);
  }
  // Every code is at least one bit, so a larger count cannot be right (and must not size an allocation).
  if (count > bitLength) {
    throw new HwgenError(`${where}: ${count} symbols cannot fit in ${bitLength} bits; the stream is corrupt`);
  }
}

interface Decoder {
  /** Indexed by the next tableBits bits: (length << 8) | symbol, or 0 for a longer (or invalid) code. */
  table: Uint32Array;
  tableBits: number;
  /** Symbols in canonical order, and per-length counts, for the slow path. */
  sorted: Uint8Array;
  perLength: Uint32Array;
  maxUsed: number;
}

function buildDecoder(lengths: Uint8Array, shape: CodeShape): Decoder {
  const tableBits = Math.min(shape.maxUsed, TABLE_BITS);
  const table = new Uint32Array(1 << tableBits);
  const codes = canonicalCodes(lengths);
  const sorted = new Uint8Array(shape.used);
  const offset = new Uint32Array(shape.maxUsed + 2);
  for (let l = 1; l <= shape.maxUsed; l++) offset[l + 1] = offset[l] + shape.perLength[l];
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s];
    if (l === 0) continue;
    sorted[offset[l]++] = s;
    if (l > tableBits) continue;
    // Every table index that starts with this code decodes to it.
    const first = codes[s] * 2 ** (tableBits - l);
    table.fill((l << 8) | s, first, first + 2 ** (tableBits - l));
  }
  return { table, tableBits, sorted, perLength: shape.perLength, maxUsed: shape.maxUsed };
}

/** Canonical decoding one bit at a time (as zlib's puff does); returns (length << 8) | symbol. */
function decodeSlow(buf: Uint8Array, pos: number, d: Decoder, where: string): number {
  let code = 0; // bits read so far
  let first = 0; // first code of the current length
  let index = 0; // index in `sorted` of that first code
  for (let len = 1; len <= d.maxUsed; len++) {
    const p = pos + len - 1;
    code += (buf[p >>> 3] >>> (7 - (p & 7))) & 1;
    const n = d.perLength[len];
    if (code - first < n) return (len << 8) | d.sorted[index + code - first];
    index += n;
    first = (first + n) * 2;
    code *= 2;
  }
  throw new HwgenError(`${where}: invalid code at bit ${pos}; the stream is corrupt`);
}

import { beforeEach, describe, expect, it } from 'vitest';
import { HwgenError } from '../errors.js';
import { canonicalCodes, huffmanBits, huffmanDecode, huffmanEncode, huffmanLengths } from './huffman.js';
import { rng as prng } from '../../test/helpers/random.js';

function histogram(symbols: Uint8Array, alphabet: number): Float64Array {
  const counts = new Float64Array(alphabet);
  for (const s of symbols) counts[s]++;
  return counts;
}

/** Kraft sum of the used lengths, exact for lengths <= 32. */
function kraft(lengths: Uint8Array): number {
  let sum = 0;
  for (const l of lengths) if (l > 0) sum += 2 ** -l;
  return sum;
}

function cost(counts: ArrayLike<number>, lengths: ArrayLike<number>): number {
  let bits = 0;
  for (let s = 0; s < counts.length; s++) bits += counts[s] * lengths[s];
  return bits;
}

/** Textbook Huffman (repeatedly merge the two lightest) as an independent optimum without a length limit. */
function referenceHuffmanCost(counts: ArrayLike<number>): number {
  const w = Array.from(counts).filter((c) => c > 0);
  if (w.length <= 1) return w.length === 1 ? w[0] : 0;
  let total = 0;
  while (w.length > 1) {
    w.sort((a, b) => a - b);
    const merged = w[0] + w[1];
    total += merged; // every symbol under the merged node gets one bit deeper
    w.splice(0, 2, merged);
  }
  return total;
}

/** Cheapest length vector with lengths in 1..maxLen and Kraft sum <= 1, by exhaustive search. */
function bruteForceCost(counts: number[], maxLen: number): number {
  let best = Infinity;
  const lengths = new Array<number>(counts.length).fill(1);
  const walk = (i: number, kraftSum: number): void => {
    if (kraftSum > 1) return;
    if (i === counts.length) {
      best = Math.min(best, cost(counts, lengths));
      return;
    }
    for (let l = 1; l <= maxLen; l++) {
      lengths[i] = l;
      walk(i + 1, kraftSum + 2 ** -l);
    }
  };
  walk(0, 0);
  return best;
}

type Source = { name: string; alphabet: number; draw: (rnd: () => number) => number };

const SOURCES: Source[] = [
  { name: 'uniform over 16', alphabet: 16, draw: (r) => Math.floor(r() * 16) },
  { name: 'uniform over 256', alphabet: 256, draw: (r) => Math.floor(r() * 256) },
  { name: 'geometric p=0.5', alphabet: 16, draw: (r) => Math.min(15, Math.floor(Math.log(1 - r()) / Math.log(0.5))) },
  { name: 'geometric p=0.9 (z-like)', alphabet: 16, draw: (r) => Math.min(15, Math.floor(Math.log(1 - r()) / Math.log(0.1))) },
  { name: 'single symbol', alphabet: 16, draw: () => 7 },
  { name: 'two symbols, skewed', alphabet: 16, draw: (r) => (r() < 0.97 ? 3 : 12) },
  { name: 'all 256 symbols, triangular', alphabet: 256, draw: (r) => Math.floor(256 * Math.sqrt(r())) },
  { name: 'sparse alphabet (4 of 256)', alphabet: 256, draw: (r) => [0, 17, 200, 255][Math.floor(r() * 4)] },
];

function sample(src: Source, n: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = src.draw(rnd);
  return out;
}

/** Fibonacci counts: the classic worst case whose unconstrained Huffman tree is a path, n - 1 deep. */
function fibonacciCounts(n: number): number[] {
  const c = [1, 1];
  while (c.length < n) c.push(c[c.length - 1] + c[c.length - 2]);
  return c;
}

function roundTrip(symbols: Uint8Array, lengths: Uint8Array): void {
  const { bytes, bitLength } = huffmanEncode(symbols, lengths);
  expect(bytes.length).toBe(Math.ceil(bitLength / 8));
  const decoded = huffmanDecode(bytes, bitLength, symbols.length, lengths, 'test');
  expect(Buffer.from(decoded).equals(Buffer.from(symbols))).toBe(true);
}

describe('huffmanLengths', () => {
  it.each(SOURCES)('$name: lengths are a complete prefix code within the limit and round-trip', (src) => {
    for (const [seed, n] of [
      [1, 1],
      [2, 57],
      [3, 20_000],
    ] as const) {
      const symbols = sample(src, n, seed * 7919 + src.alphabet);
      const counts = histogram(symbols, src.alphabet);
      const lengths = huffmanLengths(counts);
      const used = counts.filter((c) => c > 0).length;
      for (let s = 0; s < src.alphabet; s++) {
        expect(lengths[s] === 0).toBe(counts[s] === 0);
        expect(lengths[s]).toBeLessThanOrEqual(16);
      }
      if (used === 1) expect(Math.max(...lengths)).toBe(1);
      else expect(kraft(lengths)).toBe(1);
      roundTrip(symbols, lengths);
      expect(huffmanEncode(symbols, lengths).bitLength).toBe(huffmanBits(counts, lengths));
    }
  });

  it('gives all zeros for all-zero counts and an empty alphabet', () => {
    expect(Array.from(huffmanLengths([0, 0, 0]))).toEqual([0, 0, 0]);
    expect(huffmanLengths([]).length).toBe(0);
  });

  it('is within 1 bit per symbol of the entropy when unconstrained, and matches textbook Huffman', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = prng(seed);
      const alphabet = 2 + Math.floor(rnd() * 255);
      // Random Zipf-like weights: from near-uniform to heavily skewed.
      const skew = rnd() * 3;
      const counts = Array.from({ length: alphabet }, (_, i) => (rnd() < 0.2 ? 0 : Math.ceil(1e6 / (i + 1) ** skew)));
      counts[0] = Math.max(counts[0], 1);
      counts[1] = Math.max(counts[1], 1);
      const lengths = huffmanLengths(counts, 32);
      const total = counts.reduce((a, b) => a + b, 0);
      const entropyBits = counts.reduce((h, c) => (c > 0 ? h - c * Math.log2(c / total) : h), 0);
      const bits = huffmanBits(counts, lengths);
      expect(bits).toBeGreaterThanOrEqual(entropyBits - 1e-6 * total);
      expect(bits).toBeLessThan(entropyBits + total);
      expect(bits).toBe(referenceHuffmanCost(counts));
    }
  });

  it('is optimal under the length limit (exhaustive search on small alphabets)', () => {
    const rnd = prng(99);
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + Math.floor(rnd() * 5); // 2..6 symbols
      const maxLen = Math.max(Math.ceil(Math.log2(n)), 1 + Math.floor(rnd() * 4)); // feasible, often binding
      const counts = Array.from({ length: n }, () => 1 + Math.floor(rnd() ** 4 * 1000));
      const lengths = huffmanLengths(counts, maxLen);
      expect(Math.max(...lengths)).toBeLessThanOrEqual(maxLen);
      expect(kraft(lengths)).toBe(1);
      expect(cost(counts, lengths)).toBe(bruteForceCost(counts, maxLen));
    }
  });

  it('hits the length limit on a Fibonacci distribution and still round-trips', () => {
    const counts = fibonacciCounts(30); // unconstrained depth 29: fits 32 bits, not 16
    const free = huffmanLengths(counts, 32);
    expect(Math.max(...free)).toBeGreaterThan(16); // the limit is really binding here
    const limited = huffmanLengths(counts);
    expect(Math.max(...limited)).toBe(16);
    expect(kraft(limited)).toBe(1);
    expect(huffmanBits(counts, limited)).toBeGreaterThan(huffmanBits(counts, free));
    // A stream using every symbol exercises codes longer than the decoder's lookup table.
    const rnd = prng(5);
    for (const lengths of [limited, free]) {
      const symbols = Uint8Array.from({ length: 5000 }, () => Math.floor(rnd() * counts.length));
      roundTrip(symbols, lengths);
    }
  });

  it('uses 8-bit codes for 256 equally likely symbols, and the limit may equal log2 of the alphabet', () => {
    const lengths = huffmanLengths(new Array(256).fill(5), 8);
    expect(lengths.every((l) => l === 8)).toBe(true);
    expect(() => huffmanLengths(new Array(257).fill(1))).toThrow(HwgenError);
    expect(() => huffmanLengths(new Array(17).fill(1), 4)).toThrow(/cannot get codes of at most 4 bits/);
  });

  it('rejects bad counts and limits', () => {
    expect(() => huffmanLengths([1, -1])).toThrow(HwgenError);
    expect(() => huffmanLengths([1, NaN])).toThrow(HwgenError);
    expect(() => huffmanLengths([1, 2], 0)).toThrow(HwgenError);
    expect(() => huffmanLengths([1, 2], 33)).toThrow(HwgenError);
  });
});

describe('huffmanEncode', () => {
  it('assigns canonical codes as RFC 1951 section 3.2.2 does, packed MSB-first', () => {
    // The RFC's example: lengths (3,3,3,3,3,2,4,4) for A..H give A=010 ... F=00, G=1110, H=1111.
    const lengths = Uint8Array.from([3, 3, 3, 3, 3, 2, 4, 4]);
    expect(Array.from(canonicalCodes(lengths))).toEqual([0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111]);
    // F, A, G = 00 010 1110 -> 0001 0111 | 0(pad 0000000)
    const { bytes, bitLength } = huffmanEncode(Uint8Array.from([5, 0, 6]), lengths);
    expect(bitLength).toBe(9);
    expect(Array.from(bytes)).toEqual([0b00010111, 0b00000000]);
  });

  it('rejects a symbol without a code and invalid length tables', () => {
    expect(() => huffmanEncode(Uint8Array.from([0, 2]), Uint8Array.from([1, 1, 0]))).toThrow(/symbol 2 .* no code/);
    expect(() => huffmanEncode(Uint8Array.from([0]), Uint8Array.from([1, 1, 1]))).toThrow(/over-subscribed/);
  });
});

describe('huffmanDecode', () => {
  // Built per test (not at collection time) so a broken encoder fails tests, not the whole file.
  let symbols: Uint8Array, lengths: Uint8Array, bytes: Uint8Array, bitLength: number;
  beforeEach(() => {
    symbols = sample(SOURCES[2], 3000, 11);
    lengths = huffmanLengths(histogram(symbols, 16));
    ({ bytes, bitLength } = huffmanEncode(symbols, lengths));
  });

  it('rejects a stream that runs out of bits, has bits left over, or a wrong byte count', () => {
    expect(() => huffmanDecode(bytes, bitLength, symbols.length + 1, lengths, 'w')).toThrow(/ran out of bits|cannot fit/);
    expect(() => huffmanDecode(bytes, bitLength - 1, symbols.length, lengths, 'w')).toThrow(HwgenError);
    expect(() => huffmanDecode(bytes, bitLength, symbols.length - 1, lengths, 'w')).toThrow(/left over/);
    expect(() => huffmanDecode(bytes.subarray(0, bytes.length - 1), bitLength, symbols.length, lengths, 'w')).toThrow(/truncated/);
    expect(() => huffmanDecode(bytes, 10, 11, lengths, 'w')).toThrow(/cannot fit/);
  });

  it('rejects lengths that are over-subscribed, incomplete, too long, or missing', () => {
    expect(() => huffmanDecode(bytes, bitLength, 5, Uint8Array.from([1, 1, 1]), 'w')).toThrow(/over-subscribed/);
    expect(() => huffmanDecode(bytes, bitLength, 5, Uint8Array.from([1, 2, 0]), 'w')).toThrow(/incomplete/);
    expect(() => huffmanDecode(bytes, bitLength, 5, Uint8Array.from([1, 33]), 'w')).toThrow(/longer than 32/);
    expect(() => huffmanDecode(bytes, bitLength, 5, new Uint8Array(16), 'w')).toThrow(/no symbol has a code/);
  });

  it('rejects an invalid code of a single-symbol stream and names where', () => {
    const single = Uint8Array.from([0, 0, 1]); // symbol 2 is code "0"; "1" is not a code
    expect(Array.from(huffmanDecode(Uint8Array.from([0x00]), 3, 3, single, 'w'))).toEqual([2, 2, 2]);
    expect(() => huffmanDecode(Uint8Array.from([0x20]), 3, 3, single, 'layer 7 VHUF')).toThrow(/^layer 7 VHUF: invalid code at bit 2/);
  });

  it('never throws anything but HwgenError on corrupted bits', () => {
    const rnd = prng(3);
    for (let trial = 0; trial < 300; trial++) {
      const bad = bytes.slice();
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
      try {
        expect(huffmanDecode(bad, bitLength, symbols.length, lengths, 'w').length).toBe(symbols.length);
      } catch (e) {
        expect(e).toBeInstanceOf(HwgenError);
      }
    }
  });

  it('decodes 3.4 M symbols quickly', () => {
    const big = sample(SOURCES[3], 3_400_000, 21);
    const bl = huffmanLengths(histogram(big, 16));
    const enc = huffmanEncode(big, bl);
    const t0 = performance.now();
    const out = huffmanDecode(enc.bytes, enc.bitLength, big.length, bl, 'bench');
    const ms = performance.now() - t0;
    expect(Buffer.from(out).equals(Buffer.from(big))).toBe(true);
    // Loose bound so a slow CI machine passes; typical is ~20 ms.
    expect(ms).toBeLessThan(1000);
  });
});

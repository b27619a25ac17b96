import type { NumericFormat } from './types.js';

/**
 * The fixed-point arithmetic of the hardware, in one place (docs/numbers.md explains it).
 * Every value is a JS number holding an integer; formats stay within 48 bits, so doubles are exact.
 */

/** Largest and smallest values of a signed two's-complement integer of `bits` bits. */
export function signedRange(bits: number): { min: number; max: number } {
  const half = 2 ** (bits - 1);
  return { min: -half, max: half - 1 };
}

/** Clamps an integer to signed `bits` bits (the hardware saturates, it never wraps). */
export function saturate(x: number, bits: number): number {
  const half = 2 ** (bits - 1);
  if (x >= half) return half - 1;
  if (x < -half) return -half;
  return x;
}

/** Float to fixed point: round half up (Math.round), then saturate. NaN is rejected before this point. */
export function toFixed(x: number, frac: number, bits: number): number {
  return saturate(Math.round(x * 2 ** frac), bits);
}

/** Fixed point to float. */
export function fromFixed(q: number, frac: number): number {
  return q / 2 ** frac;
}

/** Arithmetic shift right by `shift` with round half up: floor((x + 2^(shift-1)) / 2^shift). */
export function roundShift(x: number, shift: number): number {
  if (shift === 0) return x;
  return Math.floor((x + 2 ** (shift - 1)) / 2 ** shift);
}

/** Integer bits the accumulator keeps above the output range, so partial sums rarely saturate. */
export const ACC_GUARD_BITS = 4;

/**
 * Fractional bits for a layer's codebook whose largest magnitude is `maxAbs`: as many as fit in weightBits
 * signed bits, but no more than leave the accumulator (actFrac + wFrac fractional bits) the output's integer
 * range plus ACC_GUARD_BITS. Returns -1 when even 0 fractional bits do not fit.
 */
export function codebookFrac(maxAbs: number, numeric: NumericFormat): number {
  const { max } = signedRange(numeric.weightBits);
  let frac = Math.max(0, numeric.accBits - numeric.actBits - ACC_GUARD_BITS);
  while (frac >= 0 && Math.round(maxAbs * 2 ** frac) > max) frac--;
  return frac;
}

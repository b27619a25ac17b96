import { HwgenError } from '../errors.js';
import type { NumericFormat, SparseFormat } from './types.js';

/** The ranges every format field must lie in: one table, checked by the CLI, the bundle reader and the config. */
export const LIMITS = {
  pes: [1, 64],
  vBits: [1, 8],
  zBits: [1, 8],
  bits: [2, 8],
  actBits: [2, 32],
  weightBits: [2, 32],
  accBits: [2, 48],
} as const satisfies Record<string, readonly [number, number]>;

export function checkRange(name: keyof typeof LIMITS, value: number, where: string): void {
  const [lo, hi] = LIMITS[name];
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new HwgenError(`${where}: ${name} is ${value}; it must be an integer in ${lo}..${hi}`);
  }
}

export function checkSparse(s: SparseFormat, where: string): void {
  checkRange('pes', s.pes, where);
  checkRange('vBits', s.vBits, where);
  checkRange('zBits', s.zBits, where);
}

export function checkNumeric(n: NumericFormat, where: string): void {
  checkRange('actBits', n.actBits, where);
  checkRange('weightBits', n.weightBits, where);
  checkRange('accBits', n.accBits, where);
  if (!Number.isInteger(n.actFrac) || n.actFrac < 0 || n.actFrac >= n.actBits) {
    throw new HwgenError(`${where}: actFrac is ${n.actFrac}; it must be an integer in 0..${n.actBits - 1} (below actBits)`);
  }
  if (n.accBits < n.actBits + n.weightBits) {
    // The accumulator must hold one full product, or the first multiply already saturates.
    throw new HwgenError(
      `${where}: accBits = ${n.accBits} is narrower than one product (actBits + weightBits = ${n.actBits + n.weightBits}); raise accBits`,
    );
  }
}

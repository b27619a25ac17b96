import type { PeSlice } from '../../src/model/types.js';

/**
 * Row-major codebook indices (0 = zero weight) to per-PE relative-indexed CSC, written as plainly as possible:
 * row i goes to PE i % pes as local row floor(i / pes); a gap wider than 2^zBits - 1 gets padding entries.
 */
export function toSlices(codes: Uint8Array, rows: number, cols: number, pes: number, zBits: number): PeSlice[] {
  const zMax = 2 ** zBits - 1;
  const slices: PeSlice[] = [];
  for (let p = 0; p < pes; p++) {
    const ptr = [0];
    const v: number[] = [];
    const z: number[] = [];
    for (let j = 0; j < cols; j++) {
      let prev = -1;
      for (let i = p, local = 0; i < rows; i += pes, local++) {
        if (codes[i * cols + j] === 0) continue;
        let gap = local - prev - 1;
        while (gap > zMax) {
          v.push(0);
          z.push(zMax);
          gap -= zMax + 1;
        }
        v.push(codes[i * cols + j]);
        z.push(gap);
        prev = local;
      }
      ptr.push(v.length);
    }
    slices.push({ ptr: Uint32Array.from(ptr), v: Uint8Array.from(v), z: Uint8Array.from(z) });
  }
  return slices;
}

import type { PeSlice } from '../model/types.js';

/**
 * EIE's storage (step 3): row i of the layer lives in PE i mod pes as local row floor(i / pes); each PE
 * keeps its slice column by column as (v, z) pairs, z = local rows skipped since the column's previous
 * entry. A gap longer than zMax = 2^zBits - 1 gets padding entries (v = 0, z = zMax), each of which
 * stands for zMax skipped rows plus one stored zero.
 *
 * `kept` are row-major positions (ascending) of the layer's non-zeros and `codes` their codebook indices.
 */
export function encodeCsc(
  rows: number,
  cols: number,
  kept: Uint32Array,
  codes: Uint8Array,
  pes: number,
  zBits: number,
): PeSlice[] {
  const zMax = 2 ** zBits - 1;
  // Counting sort by (pe, col): row-major order means each bucket fills with ascending rows.
  const bucketStart = new Uint32Array(pes * cols + 1);
  for (let n = 0; n < kept.length; n++) {
    const i = Math.floor(kept[n] / cols);
    bucketStart[(i % pes) * cols + (kept[n] - i * cols) + 1]++;
  }
  for (let b = 0; b < pes * cols; b++) bucketStart[b + 1] += bucketStart[b];
  const fill = bucketStart.slice(0, pes * cols);
  const localRow = new Uint32Array(kept.length);
  const code = new Uint8Array(kept.length);
  for (let n = 0; n < kept.length; n++) {
    const i = Math.floor(kept[n] / cols);
    const at = fill[(i % pes) * cols + (kept[n] - i * cols)]++;
    localRow[at] = Math.floor(i / pes);
    code[at] = codes[n];
  }

  const slices: PeSlice[] = [];
  for (let p = 0; p < pes; p++) {
    const ptr = new Uint32Array(cols + 1);
    let total = 0;
    for (let j = 0; j < cols; j++) {
      ptr[j] = total;
      total += paddedCount(localRow, bucketStart[p * cols + j], bucketStart[p * cols + j + 1], zMax);
    }
    ptr[cols] = total;
    const v = new Uint8Array(total);
    const z = new Uint8Array(total);
    let e = 0;
    for (let j = 0; j < cols; j++) {
      let prev = -1;
      for (let n = bucketStart[p * cols + j]; n < bucketStart[p * cols + j + 1]; n++) {
        let gap = localRow[n] - prev - 1;
        while (gap > zMax) {
          z[e++] = zMax; // v stays 0: a padding entry
          gap -= zMax + 1;
        }
        v[e] = code[n];
        z[e++] = gap;
        prev = localRow[n];
      }
    }
    slices.push({ ptr, v, z });
  }
  return slices;
}

/** Entries a column needs, padding included. */
function paddedCount(localRow: Uint32Array, from: number, to: number, zMax: number): number {
  let count = 0;
  let prev = -1;
  for (let n = from; n < to; n++) {
    count += 1 + Math.floor((localRow[n] - prev - 1) / (zMax + 1));
    prev = localRow[n];
  }
  return count;
}

import { forEachEntry } from '../model/layout.js';
import { encodeCsc } from './csc.js';
import type { Bundle, EieLayer } from '../model/types.js';

/**
 * The same compressed network stored for another PE count: the kept positions and codebook indices stay,
 * only the interleaving (and so the padding) changes. Lets one bundle run on builds of any width.
 */
export function reencodeForPes(bundle: Bundle, pes: number): Bundle {
  if (pes === bundle.sparse.pes) return bundle;
  return {
    ...bundle,
    sparse: { ...bundle.sparse, pes },
    layers: bundle.layers.map((l) => reencodeLayer(l, pes, bundle.sparse.zBits)),
  };
}

function reencodeLayer(l: EieLayer, pes: number, zBits: number): EieLayer {
  const oldPes = l.slices.length;
  const code = new Map<number, number>();
  l.slices.forEach((s, p) =>
    forEachEntry(s, l.cols, (local, j, v) => {
      if (v !== 0) code.set((local * oldPes + p) * l.cols + j, v);
    }),
  );
  const kept = Uint32Array.from([...code.keys()].sort((a, b) => a - b));
  const codes = Uint8Array.from(kept, (k) => code.get(k)!);
  return { ...l, slices: encodeCsc(l.rows, l.cols, kept, codes, pes, zBits) };
}

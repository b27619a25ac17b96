import { huffmanLengths } from '../model/huffman.js';
import { BUNDLE_MAX_CODE_LEN } from '../model/bundle.js';
import type { EieLayer, SparseFormat } from '../model/types.js';

/**
 * The data behind one EIE layer's figures, reduced so that even a 9216×4096 layer gives a few hundred rows:
 * weights become a histogram of HISTOGRAM_BINS bins, v and z one row per symbol, the load balance one row per PE.
 */

/** Bins of every weight distribution: enough to see the centroids' clusters, few enough for a small page. */
export const HISTOGRAM_BINS = 60;

export interface Bin {
  start: number;
  end: number;
  count: number;
}

export interface WeightDistribution {
  /** 'float': the pruned float weights before sharing (compress --report); 'decoded': the bundle's shared weights. */
  source: 'float' | 'decoded';
  /** Non-empty bins only, ascending. */
  bins: Bin[];
  /** Weights counted. */
  weights: number;
}

export interface CodebookEntry {
  /** The codebook index, the symbol v stores. */
  index: number;
  value: number;
  /** Entries storing this v (index 0: the padding entries). */
  count: number;
  /** Huffman code length of this v, 0 when unused. */
  bits: number;
}

export interface ZSymbol {
  z: number;
  count: number;
  bits: number;
}

export interface PeLoad {
  pe: number;
  nonZeros: number;
  padding: number;
}

export interface EieLayerFigures {
  codebook: CodebookEntry[];
  z: ZSymbol[];
  pes: PeLoad[];
  distribution: WeightDistribution;
}

/** `pruned`: the layer's kept float weights, when the caller still has them (else the decoded weights are shown). */
export function eieLayerFigures(layer: EieLayer, sparse: SparseFormat, pruned?: Float32Array): EieLayerFigures {
  const vCounts = new Float64Array(2 ** sparse.vBits);
  const zCounts = new Float64Array(2 ** sparse.zBits);
  const pes = layer.slices.map((s, pe): PeLoad => {
    let padding = 0;
    for (let e = 0; e < s.v.length; e++) {
      vCounts[s.v[e]]++;
      zCounts[s.z[e]]++;
      if (s.v[e] === 0) padding++;
    }
    return { pe, nonZeros: s.v.length - padding, padding };
  });
  // The same lengths the bundle's Huffman sections store (src/model/bundle.ts) and the compression report counts.
  const vBits = huffmanLengths(vCounts, BUNDLE_MAX_CODE_LEN);
  const zBits = huffmanLengths(zCounts, BUNDLE_MAX_CODE_LEN);
  const values = codebookValues(layer);
  const codebook = values.map((value, index) => ({ index, value, count: vCounts[index], bits: vBits[index] }));
  const z = Array.from(zCounts, (count, sym) => ({ z: sym, count, bits: zBits[sym] }));
  const distribution = pruned ? floatDistribution(pruned) : decodedDistribution(codebook);
  return { codebook, z, pes, distribution };
}

/** The layer's shared weights as real values (entry 0 is the zero of pruned weights). */
export function codebookValues(layer: EieLayer): number[] {
  return Array.from(layer.codebook, (q) => q / 2 ** layer.wFrac);
}

/** Equal bins over [lo, hi] (one value: bins of width 1 from it). */
function binWidth(lo: number, hi: number): number {
  return hi > lo ? (hi - lo) / HISTOGRAM_BINS : 1;
}

function toBins(counts: Float64Array, lo: number, width: number): Bin[] {
  const bins: Bin[] = [];
  counts.forEach((count, b) => {
    if (count > 0) bins.push({ start: lo + b * width, end: lo + (b + 1) * width, count });
  });
  return bins;
}

function binOf(x: number, lo: number, width: number): number {
  return Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor((x - lo) / width)));
}

/** The pruned float weights in HISTOGRAM_BINS equal bins over their range. */
export function floatDistribution(pruned: Float32Array): WeightDistribution {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of pruned) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  if (!Number.isFinite(lo)) return { source: 'float', bins: [], weights: 0 };
  const width = binWidth(lo, hi);
  const counts = new Float64Array(HISTOGRAM_BINS);
  for (const x of pruned) counts[binOf(x, lo, width)]++;
  return { source: 'float', bins: toBins(counts, lo, width), weights: pruned.length };
}

/** The bundle's non-zero weights: each takes a codebook value, so the bins are spikes at the centroids. */
export function decodedDistribution(codebook: CodebookEntry[]): WeightDistribution {
  const used = codebook.slice(1);
  const values = used.map((e) => e.value);
  if (!values.length) return { source: 'decoded', bins: [], weights: 0 };
  const lo = Math.min(...values);
  const width = binWidth(lo, Math.max(...values));
  const counts = new Float64Array(HISTOGRAM_BINS);
  for (const e of used) counts[binOf(e.value, lo, width)] += e.count;
  return { source: 'decoded', bins: toBins(counts, lo, width), weights: used.reduce((s, e) => s + e.count, 0) };
}

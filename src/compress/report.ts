import type { Bundle, EieLayer } from '../model/types.js';
import { huffmanBits, huffmanLengths } from '../model/huffman.js';

/**
 * The compression report of Deep Compression's tables, computed from a bundle alone so that
 * `hwgen compress` and `hwgen inspect` print the same thing. Storage per stage, in bits:
 * - dense:     rows × cols × 32 (float32)
 * - pruned:    every entry (padding included) as a float32 value plus a zBits relative index, plus pointers
 * - quantized: every entry as vBits + zBits, plus the codebook (2^B × weightBits), plus pointers
 * - huffman:   the Huffman-coded v and z streams, plus the codebook, plus pointers
 * Pointers: pes × (cols + 1) of ceil(log2(largest pointer + 1)) bits. Biases are not counted in any stage.
 */
export interface LayerReport {
  name: string;
  rows: number;
  cols: number;
  weights: number;
  nonZeros: number;
  density: number;
  bits: number;
  paddingEntries: number;
  /** Padding entries / non-zero entries. */
  paddingOverhead: number;
  /** Average Huffman bits per v and per z. */
  huffmanBitsV: number;
  huffmanBitsZ: number;
  bytes: { dense: number; pruned: number; quantized: number; huffman: number };
  /** Dense bytes / Huffman bytes. */
  ratio: number;
  /** Entries of the busiest PE and the average over PEs: the load balance the hardware will see. */
  maxPeEntries: number;
  meanPeEntries: number;
}

export interface Report {
  pes: number;
  vBits: number;
  zBits: number;
  layers: LayerReport[];
  total: Omit<LayerReport, 'name' | 'rows' | 'cols' | 'bits' | 'maxPeEntries' | 'meanPeEntries'>;
}

export function bundleReport(bundle: Bundle): Report {
  const layers = bundle.layers.map((l) => layerReport(l, bundle));
  const sum = (f: (r: LayerReport) => number) => layers.reduce((s, r) => s + f(r), 0);
  const weights = sum((r) => r.weights);
  const nonZeros = sum((r) => r.nonZeros);
  const paddingEntries = sum((r) => r.paddingEntries);
  const entries = nonZeros + paddingEntries;
  const bytes = {
    dense: sum((r) => r.bytes.dense),
    pruned: sum((r) => r.bytes.pruned),
    quantized: sum((r) => r.bytes.quantized),
    huffman: sum((r) => r.bytes.huffman),
  };
  return {
    pes: bundle.sparse.pes,
    vBits: bundle.sparse.vBits,
    zBits: bundle.sparse.zBits,
    layers,
    total: {
      weights,
      nonZeros,
      density: weights ? nonZeros / weights : 0,
      paddingEntries,
      paddingOverhead: nonZeros ? paddingEntries / nonZeros : 0,
      huffmanBitsV: entries ? sum((r) => r.huffmanBitsV * (r.nonZeros + r.paddingEntries)) / entries : 0,
      huffmanBitsZ: entries ? sum((r) => r.huffmanBitsZ * (r.nonZeros + r.paddingEntries)) / entries : 0,
      bytes,
      ratio: bytes.huffman ? bytes.dense / bytes.huffman : 0,
    },
  };
}

function layerReport(l: EieLayer, bundle: Bundle): LayerReport {
  const { vBits, zBits, pes } = bundle.sparse;
  const vCounts = new Float64Array(2 ** vBits);
  const zCounts = new Float64Array(2 ** zBits);
  let entries = 0;
  let maxPtr = 0;
  let maxPeEntries = 0;
  for (const s of l.slices) {
    for (let e = 0; e < s.v.length; e++) {
      vCounts[s.v[e]]++;
      zCounts[s.z[e]]++;
    }
    entries += s.v.length;
    maxPtr = Math.max(maxPtr, s.ptr[l.cols]);
    maxPeEntries = Math.max(maxPeEntries, s.v.length);
  }
  const paddingEntries = vCounts[0];
  const nonZeros = entries - paddingEntries;
  const ptrBits = pes * (l.cols + 1) * Math.max(1, Math.ceil(Math.log2(maxPtr + 1)));
  const codebookBits = 2 ** l.bits * bundle.numeric.weightBits;
  const hv = huffmanBits(vCounts, huffmanLengths(vCounts));
  const hz = huffmanBits(zCounts, huffmanLengths(zCounts));
  const weights = l.rows * l.cols;
  const bytes = {
    dense: weights * 4,
    pruned: Math.ceil((entries * (32 + zBits) + ptrBits) / 8),
    quantized: Math.ceil((entries * (vBits + zBits) + codebookBits + ptrBits) / 8),
    huffman: Math.ceil((hv + hz + codebookBits + ptrBits) / 8),
  };
  return {
    name: l.name,
    rows: l.rows,
    cols: l.cols,
    weights,
    nonZeros,
    density: nonZeros / weights,
    bits: l.bits,
    paddingEntries,
    paddingOverhead: nonZeros ? paddingEntries / nonZeros : 0,
    huffmanBitsV: entries ? hv / entries : 0,
    huffmanBitsZ: entries ? hz / entries : 0,
    bytes,
    ratio: bytes.dense / bytes.huffman,
    maxPeEntries,
    meanPeEntries: entries / pes,
  };
}

/** The report as a terminal table. */
export function formatReport(r: Report): string {
  const head = ['layer', 'shape', 'density', 'B', 'pad', 'v bits', 'z bits', 'dense', 'pruned', 'quant', 'huffman', 'ratio', 'PE max/mean'];
  const kb = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)}M` : `${(b / 1024).toFixed(1)}K`);
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const rows = r.layers.map((l) => [
    l.name,
    `${l.rows}x${l.cols}`,
    pct(l.density),
    String(l.bits),
    pct(l.paddingOverhead),
    l.huffmanBitsV.toFixed(2),
    l.huffmanBitsZ.toFixed(2),
    kb(l.bytes.dense),
    kb(l.bytes.pruned),
    kb(l.bytes.quantized),
    kb(l.bytes.huffman),
    `${l.ratio.toFixed(1)}x`,
    `${l.maxPeEntries}/${l.meanPeEntries.toFixed(1)}`,
  ]);
  const t = r.total;
  rows.push([
    'total',
    `${t.weights} w`,
    pct(t.density),
    '',
    pct(t.paddingOverhead),
    t.huffmanBitsV.toFixed(2),
    t.huffmanBitsZ.toFixed(2),
    kb(t.bytes.dense),
    kb(t.bytes.pruned),
    kb(t.bytes.quantized),
    kb(t.bytes.huffman),
    `${t.ratio.toFixed(1)}x`,
    '',
  ]);
  const all = [head, ...rows];
  const width = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(width[c]) : cell.padStart(width[c]))).join('  ');
  return [
    `${r.layers.length} layer(s), ${r.pes} PEs, v ${r.vBits} bits, z ${r.zBits} bits`,
    line(head),
    ...rows.slice(0, -1).map(line),
    width.map((w) => '-'.repeat(w)).join('  '),
    line(rows[rows.length - 1]),
  ].join('\n');
}

import { compressModel } from '../../src/compress/compress.js';
import { DEFAULT_NUMERIC, type Bundle } from '../../src/model/types.js';
import { gaussianMatrix, rng } from './random.js';

/**
 * The small two-layer MLP most driver and build tests run (fc1: cols → rows with ReLU, fc2: rows → outs),
 * compressed for `pes` PEs. The same arguments give the same bundle, so tests that share them share the
 * model cache's build of it.
 */
export function tinyMlp({ seed = 1, rows = 24, cols = 40, outs = 9, pes = 2, density = 0.4 } = {}): Bundle {
  const r = rng(seed);
  const layers = [
    { name: 'fc1', rows, cols, weight: gaussianMatrix(r, rows * cols, 0.3), bias: gaussianMatrix(r, rows, 0.1), relu: true },
    { name: 'fc2', rows: outs, cols: rows, weight: gaussianMatrix(r, outs * rows, 0.3), relu: false },
  ];
  return compressModel({ source: 't', layers }, { density, bits: 4, sparse: { pes, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
}

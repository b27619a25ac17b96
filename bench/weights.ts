/**
 * The weights benchmarks compress: a trained fc layer's weights look Gaussian; a fast LCG + Box-Muller keeps
 * set-up out of the figures, and the same seed gives the same layer in every bench.
 */
export function gaussianWeights(rows: number, cols: number, scale = 0.01, seed = 12345): Float32Array {
  const w = new Float32Array(rows * cols);
  let s = seed;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  for (let i = 0; i < w.length; i++) w[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) * scale;
  return w;
}

/** A small seeded PRNG (mulberry32) so every random test reproduces from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** Standard normal by Box-Muller. */
export function gaussian(r: () => number): number {
  const u = 1 - r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export function laplacian(r: () => number): number {
  const u = r() - 0.5;
  return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

export function gaussianMatrix(r: () => number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => gaussian(r) * scale);
}

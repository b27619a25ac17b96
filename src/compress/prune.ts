/**
 * Magnitude pruning (Deep Compression, step 1). Both rules return the kept positions of a row-major
 * weight array in ascending order; zero weights are never kept (a kept zero would get a non-zero centroid).
 */

/** Keeps exactly min(round(density × size), non-zeros) largest magnitudes; ties go to the earlier position. */
export function pruneToDensity(w: Float32Array, density: number): Uint32Array {
  const target = Math.round(density * w.length);
  const key = magnitudeKeys(w);
  let nonZero = 0;
  for (let i = 0; i < key.length; i++) if (key[i] !== 0) nonZero++;
  const k = Math.min(target, nonZero);
  if (k === 0) return new Uint32Array(0);
  const t = kthLargestKey(key, k);
  let above = 0;
  for (let i = 0; i < key.length; i++) if (key[i] > t) above++;
  let tiesLeft = k - above;
  const kept = new Uint32Array(k);
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const q = key[i];
    if (q > t || (q === t && tiesLeft-- > 0)) kept[n++] = i;
  }
  return kept;
}

/** Han's rule: keeps |w| > quality × std(w) (population standard deviation over the whole layer). */
export function pruneByQuality(w: Float32Array, quality: number): Uint32Array {
  const threshold = quality * std(w);
  let n = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0 && Math.abs(w[i]) > threshold) n++;
  const kept = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0 && Math.abs(w[i]) > threshold) kept[n++] = i;
  return kept;
}

export function std(w: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < w.length; i++) sum += w[i];
  const mean = sum / w.length;
  let sq = 0;
  for (let i = 0; i < w.length; i++) sq += (w[i] - mean) ** 2;
  return Math.sqrt(sq / w.length);
}

/**
 * The float32 bit patterns without the sign: for finite floats they order exactly as the magnitudes do,
 * which lets a radix select find the threshold in linear time without copying or sorting 37 M floats.
 */
function magnitudeKeys(w: Float32Array): Uint32Array {
  const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
  const key = new Uint32Array(w.length);
  for (let i = 0; i < w.length; i++) key[i] = bits[i] & 0x7fffffff;
  return key;
}

/** The k-th largest key (1-based), by two passes of a 16-bit radix histogram. */
function kthLargestKey(key: Uint32Array, k: number): number {
  const hist = new Float64Array(65536);
  for (let i = 0; i < key.length; i++) hist[key[i] >>> 16]++;
  let rank = k;
  let hi = 65535;
  while (hist[hi] < rank) rank -= hist[hi--];
  hist.fill(0);
  for (let i = 0; i < key.length; i++) if (key[i] >>> 16 === hi) hist[key[i] & 0xffff]++;
  let lo = 65535;
  while (hist[lo] < rank) rank -= hist[lo--];
  return ((hi << 16) | lo) >>> 0;
}

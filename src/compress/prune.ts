/**
 * Magnitude pruning (Deep Compression, step 1). Both rules return the kept positions of a row-major
 * weight array in ascending order; zero weights are never kept (a kept zero would get a non-zero centroid).
 */

/** Keeps exactly min(round(density × size), non-zeros) largest magnitudes; ties go to the earlier position. */
export function pruneToDensity(w: Float32Array, density: number): Uint32Array {
  const target = Math.round(density * w.length);
  const key = magnitudeKeys(w);
  const { threshold, ties, nonZero } = kthLargestKey(key, target);
  const k = Math.min(target, nonZero);
  if (k === 0) return new Uint32Array(0);
  // every key above the threshold, and the first `ties` equal to it
  let tiesLeft = ties;
  const kept = new Uint32Array(k);
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const q = key[i] & 0x7fffffff;
    if (q > threshold || (q === threshold && tiesLeft-- > 0)) kept[n++] = i;
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
 * The float32 bit patterns: without the sign bit (key & 0x7fffffff) they order exactly as the magnitudes do for
 * finite floats, which lets a radix select find the threshold in linear time without copying or sorting 37 M
 * floats (the mask is applied where a key is read, so no second array of 37 M keys is made).
 */
function magnitudeKeys(w: Float32Array): Uint32Array {
  return new Uint32Array(w.buffer, w.byteOffset, w.length);
}

/**
 * The k-th largest magnitude key (1-based) by two passes of a 16-bit radix histogram, how many keys equal to it
 * the k largest take, and the count of non-zero keys. With fewer than k non-zeros, the threshold is the
 * smallest non-zero key and every one of its ties is taken.
 */
function kthLargestKey(key: Uint32Array, k: number): { threshold: number; ties: number; nonZero: number } {
  const hist = new Float64Array(65536);
  let zeros = 0;
  for (let i = 0; i < key.length; i++) {
    const q = key[i] & 0x7fffffff;
    if (q === 0) zeros++;
    hist[q >>> 16]++;
  }
  const nonZero = key.length - zeros;
  // zeros are never kept: take them out of the lowest bucket
  hist[0] -= zeros;
  let rank = Math.min(k, nonZero);
  if (rank === 0) return { threshold: 0, ties: 0, nonZero };
  let hi = 65535;
  while (hist[hi] < rank) rank -= hist[hi--];
  hist.fill(0);
  for (let i = 0; i < key.length; i++) {
    const q = key[i] & 0x7fffffff;
    if (q >>> 16 === hi && q !== 0) hist[q & 0xffff]++;
  }
  let lo = 65535;
  while (hist[lo] < rank) rank -= hist[lo--];
  return { threshold: ((hi << 16) | lo) >>> 0, ties: rank, nonZero };
}

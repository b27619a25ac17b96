/**
 * Weight sharing (Deep Compression, step 2): 1-D k-means over a layer's surviving weights with linear
 * initialization between min and max. In one dimension the clusters are intervals between centroid
 * midpoints, so each Lloyd iteration is a few binary searches over the sorted weights plus prefix sums.
 */

export interface KMeansResult {
  /** Ascending centroids (float). */
  centroids: Float64Array;
  iterations: number;
}

export function linearInit(min: number, max: number, k: number): Float64Array {
  const c = new Float64Array(k);
  for (let i = 0; i < k; i++) c[i] = k === 1 ? (min + max) / 2 : min + ((max - min) * i) / (k - 1);
  return c;
}

/**
 * k-means with at most `maxIter` Lloyd iterations (0 gives the linear, i.e. uniform, quantizer). Values with
 * at most k distinct members are their own centroids, so compressing shared weights again changes nothing.
 */
export function kmeans1d(values: Float32Array, k: number, maxIter = 100): KMeansResult {
  if (values.length === 0) return { centroids: new Float64Array(k), iterations: 0 };
  const sorted = Float64Array.from(values).sort();
  // At most k distinct values? Stop counting at k + 1: a real layer has millions.
  const distinct: number[] = [sorted[0]];
  for (let i = 1; i < sorted.length && distinct.length <= k; i++) if (sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
  if (distinct.length <= k) {
    // Already shared (e.g. a network hwgen exported): keep every value exactly; spare centroids repeat the last.
    const c = new Float64Array(k).fill(distinct[distinct.length - 1]);
    c.set(distinct);
    return { centroids: c, iterations: 0 };
  }
  const prefix = new Float64Array(sorted.length + 1);
  for (let i = 0; i < sorted.length; i++) prefix[i + 1] = prefix[i] + sorted[i];
  const c = linearInit(sorted[0], sorted[sorted.length - 1], k);
  let it = 0;
  for (; it < maxIter; it++) {
    let moved = false;
    let start = 0;
    for (let i = 0; i < k; i++) {
      const end = i === k - 1 ? sorted.length : upperBound(sorted, (c[i] + c[i + 1]) / 2);
      if (end > start) {
        const mean = (prefix[end] - prefix[start]) / (end - start);
        if (mean !== c[i]) moved = true;
        c[i] = mean;
      }
      start = Math.max(start, end);
    }
    if (!moved) break;
  }
  return { centroids: c, iterations: it };
}

/** First index whose value is > x (values ascending). */
export function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The index of the nearest of ascending `levels` for each value; a value exactly between two levels
 * takes the lower one, and of equal levels the first.
 */
export function assignNearest(values: Float32Array, levels: ArrayLike<number>): Uint8Array {
  const mids = new Float64Array(Math.max(0, levels.length - 1));
  for (let i = 0; i < mids.length; i++) mids[i] = (levels[i] + levels[i + 1]) / 2;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    // first midpoint >= value: values on a midpoint go down
    let lo = 0;
    let hi = mids.length;
    const x = values[i];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (mids[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    while (lo > 0 && levels[lo - 1] === levels[lo]) lo--; // equal levels: the lowest index
    out[i] = lo;
  }
  return out;
}

/** Mean squared error of quantizing `values` to their nearest level. */
export function quantizationMse(values: Float32Array, levels: ArrayLike<number>): number {
  if (values.length === 0) return 0;
  const idx = assignNearest(values, levels);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i] - levels[idx[i]]) ** 2;
  return s / values.length;
}

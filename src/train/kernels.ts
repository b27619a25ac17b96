/**
 * The three products of a fully-connected layer over a batch, on typed arrays in plain loops. Weights are kept
 * transposed during training, wt[k·out + i] = W[i][k], so that every product is a sum of contiguous rows of
 * `out` values scaled by the non-zero inputs: an input of 0 (half of the pixels, most ReLU outputs) costs
 * nothing, and summing four rows per pass keeps the accumulator in registers (about 3× faster in V8).
 */

/** Gathered rows of one product: acc += Σ_q val[q] · m[at[q] .. at[q] + len). */
class RowSum {
  readonly at: Int32Array;
  readonly val: Float64Array;
  readonly acc: Float64Array;
  count = 0;
  constructor(maxRows: number, len: number) {
    this.at = new Int32Array(maxRows);
    this.val = new Float64Array(maxRows);
    this.acc = new Float64Array(len);
  }
  add(at: number, val: number): void {
    this.at[this.count] = at;
    this.val[this.count++] = val;
  }
  /** acc = Σ of the gathered rows of m (acc has `len` values); resets the gathered list. */
  sum(m: Float32Array, len: number): Float64Array {
    const { at, val, acc } = this;
    acc.fill(0, 0, len);
    let q = 0;
    for (; q + 4 <= this.count; q += 4) {
      const a0 = val[q], a1 = val[q + 1], a2 = val[q + 2], a3 = val[q + 3];
      const o0 = at[q], o1 = at[q + 1], o2 = at[q + 2], o3 = at[q + 3];
      for (let i = 0; i < len; i++) acc[i] += a0 * m[o0 + i] + a1 * m[o1 + i] + a2 * m[o2 + i] + a3 * m[o3 + i];
    }
    for (; q < this.count; q++) {
      const a = val[q];
      const o = at[q];
      for (let i = 0; i < len; i++) acc[i] += a * m[o + i];
    }
    this.count = 0;
    return acc;
  }
}

/** y[b] = bias + Σ_k x[b][k] · wt[k]   (x: [n, inp], y: [n, out]) */
export function forwardBatch(x: Float32Array, n: number, inp: number, wt: Float32Array, bias: Float32Array | undefined, out: number, y: Float32Array): void {
  const rows = new RowSum(inp, out);
  for (let b = 0; b < n; b++) {
    const xo = b * inp;
    for (let k = 0; k < inp; k++) if (x[xo + k] !== 0) rows.add(k * out, x[xo + k]);
    const acc = rows.sum(wt, out);
    const yo = b * out;
    for (let i = 0; i < out; i++) y[yo + i] = acc[i] + (bias ? bias[i] : 0);
  }
}

/** gwt[k] = Σ_b x[b][k] · dy[b]   (the weight gradient, transposed like the weights) */
export function weightGradBatch(x: Float32Array, n: number, inp: number, dy: Float32Array, out: number, gwt: Float32Array): void {
  const rows = new RowSum(n, out);
  for (let k = 0; k < inp; k++) {
    for (let b = 0; b < n; b++) if (x[b * inp + k] !== 0) rows.add(b * out, x[b * inp + k]);
    const acc = rows.sum(dy, out);
    const go = k * out;
    for (let i = 0; i < out; i++) gwt[go + i] = acc[i];
  }
}

/** dx[b][k] = Σ_i wt[k][i] · dy[b][i]   (the gradient passed to the layer below) */
export function inputGradBatch(dy: Float32Array, n: number, out: number, wt: Float32Array, inp: number, dx: Float32Array): void {
  for (let b = 0; b < n; b++) {
    const dyo = b * out;
    const dxo = b * inp;
    let k = 0;
    for (; k + 4 <= inp; k += 4) {
      const w0 = k * out, w1 = w0 + out, w2 = w1 + out, w3 = w2 + out;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < out; i++) {
        const g = dy[dyo + i];
        s0 += wt[w0 + i] * g;
        s1 += wt[w1 + i] * g;
        s2 += wt[w2 + i] * g;
        s3 += wt[w3 + i] * g;
      }
      dx[dxo + k] = s0;
      dx[dxo + k + 1] = s1;
      dx[dxo + k + 2] = s2;
      dx[dxo + k + 3] = s3;
    }
    for (; k < inp; k++) {
      let s = 0;
      for (let i = 0; i < out; i++) s += wt[k * out + i] * dy[dyo + i];
      dx[dxo + k] = s;
    }
  }
}

/** Softmax cross-entropy over rows of `classes` scores: writes dL/dscore (mean over the batch), returns the summed loss. */
export function softmaxCrossEntropy(scores: Float32Array, labels: ArrayLike<number>, n: number, classes: number, grad: Float32Array): number {
  let loss = 0;
  for (let b = 0; b < n; b++) {
    const o = b * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, scores[o + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(scores[o + c] - max);
    const label = labels[b];
    loss += Math.log(sum) - (scores[o + label] - max);
    for (let c = 0; c < classes; c++) grad[o + c] = (Math.exp(scores[o + c] - max) / sum - (c === label ? 1 : 0)) / n;
  }
  return loss;
}

/** Index of the largest of `len` values from `at` (the first on ties). */
export function argmax(v: ArrayLike<number>, at = 0, len = v.length - at): number {
  let best = 0;
  for (let i = 1; i < len; i++) if (v[at + i] > v[at + best]) best = i;
  return best;
}

import { argmax, forwardBatch, inputGradBatch, softmaxCrossEntropy, weightGradBatch } from './kernels.js';
import type { ImageSet } from './dataset.js';
import type { Random } from './random.js';

/**
 * A ReLU multilayer perceptron trained by minibatch Adam, with the two constraints of Deep Compression's
 * retraining: a pruning mask (pruned weights stay 0) and weight sharing (a layer's kept weights take their
 * values from a small codebook, and the codebook is what gets trained).
 */
export interface MlpLayer {
  inp: number;
  out: number;
  /** Weights transposed: wt[k·out + i] = W[i][k] (kernels.ts says why). */
  wt: Float32Array;
  bias: Float32Array;
  /** 1 = kept, 0 = pruned, same layout as wt; absent before pruning. */
  mask?: Uint8Array;
  /** Weight sharing: codes[k·out + i] in 1..K picks centroids[code − 1]; 0 where pruned. */
  share?: { codes: Uint8Array; centroids: Float32Array };
}

export interface Mlp {
  layers: MlpLayer[];
}

/** He-initialized weights (ReLU), zero biases. */
export function initMlp(sizes: number[], random: Random): Mlp {
  const layers = sizes.slice(1).map((out, l) => {
    const inp = sizes[l];
    const scale = Math.sqrt(2 / inp);
    const wt = new Float32Array(inp * out);
    for (let i = 0; i < wt.length; i++) wt[i] = random.gaussian() * scale;
    return { inp, out, wt, bias: new Float32Array(out) };
  });
  return { layers };
}

/** Adam's state for one parameter array. */
export class Adam {
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;
  constructor(size: number) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }
  step(p: Float32Array, g: Float32Array, lr: number): void {
    const b1 = 0.9;
    const b2 = 0.999;
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      this.m[i] = b1 * this.m[i] + (1 - b1) * gi;
      this.v[i] = b2 * this.v[i] + (1 - b2) * gi * gi;
      p[i] -= (lr * (this.m[i] / c1)) / (Math.sqrt(this.v[i] / c2) + 1e-8);
    }
  }
}

export interface TrainOptions {
  epochs: number;
  batch: number;
  /** Learning rate of the first epoch; it halves every `halveEvery` epochs, or with `cosine` decays to 0 step by step. */
  lr: number;
  halveEvery?: number;
  /** lr · (1 + cos(π · step / steps)) / 2 over all the steps of the run: a long retrain ends at a small rate. */
  cosine?: boolean;
  random: Random;
  /** Called after each epoch with its mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/** Trains in place: free weights, or masked weights, or shared centroids, depending on what each layer has. */
export function trainMlp(net: Mlp, data: ImageSet, opts: TrainOptions): void {
  const { layers } = net;
  const bs = opts.batch;
  const classes = layers[layers.length - 1].out;
  // activations[0] is the input batch; activations[l + 1] the output of layer l
  const acts = [new Float32Array(bs * layers[0].inp), ...layers.map((l) => new Float32Array(bs * l.out))];
  const grads = layers.map((l) => new Float32Array(bs * l.out));
  const gwt = layers.map((l) => new Float32Array(l.wt.length));
  const gbias = layers.map((l) => new Float32Array(l.out));
  const gcent = layers.map((l) => new Float32Array(l.share?.centroids.length ?? 0));
  const dx = layers.map((l) => new Float32Array(bs * l.inp));
  const wOpt = layers.map((l) => new Adam(l.share ? l.share.centroids.length : l.wt.length));
  const bOpt = layers.map((l) => new Adam(l.out));
  const labels = new Uint8Array(bs);
  for (const l of layers) applyConstraints(l);
  const perEpoch = Math.floor(data.count / bs);
  const steps = opts.epochs * perEpoch;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const epochLr = opts.lr * 0.5 ** Math.floor(epoch / (opts.halveEvery ?? Infinity));
    const order = opts.random.permutation(data.count);
    let loss = 0;
    for (let start = 0; start + bs <= data.count; start += bs) {
      const lr = opts.cosine ? opts.lr * 0.5 * (1 + Math.cos((Math.PI * (epoch * perEpoch + start / bs)) / steps)) : epochLr;
      for (let b = 0; b < bs; b++) {
        const n = order[start + b];
        acts[0].set(data.images.subarray(n * data.pixels, (n + 1) * data.pixels), b * data.pixels);
        labels[b] = data.labels[n];
      }
      layers.forEach((l, i) => {
        forwardBatch(acts[i], bs, l.inp, l.wt, l.bias, l.out, acts[i + 1]);
        if (i < layers.length - 1) relu(acts[i + 1]);
      });
      loss += softmaxCrossEntropy(acts[layers.length], labels, bs, classes, grads[layers.length - 1]);
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i];
        gwt[i].fill(0);
        weightGradBatch(acts[i], bs, l.inp, grads[i], l.out, gwt[i]);
        sumRows(grads[i], bs, l.out, gbias[i]);
        if (i > 0) {
          inputGradBatch(grads[i], bs, l.out, l.wt, l.inp, dx[i]);
          reluGrad(dx[i], acts[i], grads[i - 1]);
        }
      }
      layers.forEach((l, i) => {
        if (l.share) {
          // Deep Compression's centroid fine-tuning: a centroid's gradient is the sum of its weights' gradients.
          centroidGrad(l.share.codes, gwt[i], gcent[i]);
          wOpt[i].step(l.share.centroids, gcent[i], lr);
        } else {
          if (l.mask) for (let k = 0; k < gwt[i].length; k++) gwt[i][k] *= l.mask[k];
          wOpt[i].step(l.wt, gwt[i], lr);
        }
        bOpt[i].step(l.bias, gbias[i], lr);
        applyConstraints(l);
      });
    }
    opts.onEpoch?.(epoch, loss / (perEpoch * bs));
  }
}

/** Pruned weights to 0, shared weights to their centroid. */
function applyConstraints(l: MlpLayer): void {
  if (l.share) {
    const { codes, centroids } = l.share;
    for (let k = 0; k < l.wt.length; k++) l.wt[k] = codes[k] ? centroids[codes[k] - 1] : 0;
  } else if (l.mask) {
    for (let k = 0; k < l.wt.length; k++) if (!l.mask[k]) l.wt[k] = 0;
  }
}

function centroidGrad(codes: Uint8Array, g: Float32Array, out: Float32Array): void {
  out.fill(0);
  for (let k = 0; k < codes.length; k++) if (codes[k]) out[codes[k] - 1] += g[k];
}

function relu(a: Float32Array): void {
  for (let i = 0; i < a.length; i++) if (a[i] < 0) a[i] = 0;
}

/** dL/d(pre-activation) = dL/d(output) where the ReLU passed, else 0. */
function reluGrad(dOut: Float32Array, out: Float32Array, dPre: Float32Array): void {
  for (let i = 0; i < dOut.length; i++) dPre[i] = out[i] > 0 ? dOut[i] : 0;
}

function sumRows(g: Float32Array, n: number, width: number, out: Float32Array): void {
  out.fill(0);
  for (let b = 0; b < n; b++) for (let i = 0; i < width; i++) out[i] += g[b * width + i];
}

/** Top-1 accuracy of the float network on a set. */
export function mlpAccuracy(net: Mlp, data: ImageSet): number {
  const chunk = 250;
  const { layers } = net;
  const acts = [new Float32Array(chunk * data.pixels), ...layers.map((l) => new Float32Array(chunk * l.out))];
  const classes = layers[layers.length - 1].out;
  let right = 0;
  for (let start = 0; start < data.count; start += chunk) {
    const n = Math.min(chunk, data.count - start);
    acts[0].set(data.images.subarray(start * data.pixels, (start + n) * data.pixels));
    layers.forEach((l, i) => {
      forwardBatch(acts[i], n, l.inp, l.wt, l.bias, l.out, acts[i + 1]);
      if (i < layers.length - 1) relu(acts[i + 1].subarray(0, n * l.out));
    });
    for (let b = 0; b < n; b++) if (argmax(acts[layers.length], b * classes, classes) === data.labels[start + b]) right++;
  }
  return right / data.count;
}

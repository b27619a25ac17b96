import { binarizeModel } from '../compress/binarize.js';
import { binaryForward } from '../golden/xnor.js';
import { quantizeInput } from '../golden/eie.js';
import type { BinaryBundle, FloatLayer, NumericFormat } from '../model/types.js';
import type { Dataset, ImageSet } from './dataset.js';
import { argmax, forwardBatch, inputGradBatch, softmaxCrossEntropy, weightGradBatch } from './kernels.js';
import { Adam } from './mlp.js';
import { seededRandom } from './random.js';

/**
 * A binarized MLP in the exact form `hwgen compress --binary` folds (docs/xnor.md): per layer
 * a = α ⊙ (sign(W) x) with α_i = mean_k |W_ik|, no bias, then batch-norm; hidden layers output sign(BN(a))
 * (sign(0) = +1), the last layer its BN(a) as scores. The first layer reads the pixels as they are (BWN).
 * Trained as BinaryConnect / XNOR-Net do: real-valued latent weights clipped to [−1, 1], signs in the forward
 * pass, and the straight-through estimator in the backward pass (the gradient of sign taken as that of
 * hardtanh: passed where |x| <= 1).
 */
export interface BinaryMlpOptions {
  seed: number;
  /** Layer sizes, input first, e.g. 784, 256, 256, 10. */
  sizes: number[];
  epochs: number;
  batch: number;
  lr: number;
  numeric: NumericFormat;
  log?: (line: string) => void;
}

export const BMLP_784_256_256_10: Omit<BinaryMlpOptions, 'seed' | 'numeric' | 'log'> = {
  sizes: [784, 256, 256, 10],
  epochs: 4,
  batch: 100,
  lr: 3e-3,
};

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.9;

interface BinaryLayer {
  inp: number;
  out: number;
  /** Latent real weights, transposed: wt[k·out + i] = W[i][k]. */
  wt: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  runMean: Float64Array;
  runVar: Float64Array;
}

export interface BinaryMlpResult {
  bundle: BinaryBundle;
  /** The float network in eval mode (running batch-norm statistics) and the golden model of the bundle. */
  accuracy: { float: number; quantized: number };
  seconds: number;
}

export function trainBinaryMlp(data: Dataset, o: BinaryMlpOptions): BinaryMlpResult {
  const log = o.log ?? (() => {});
  const random = seededRandom(o.seed);
  const layers: BinaryLayer[] = o.sizes.slice(1).map((out, l) => {
    const inp = o.sizes[l];
    const wt = new Float32Array(inp * out);
    for (let i = 0; i < wt.length; i++) wt[i] = (random.next() * 2 - 1) * Math.sqrt(6 / (inp + out));
    return { inp, out, wt, gamma: new Float32Array(out).fill(1), beta: new Float32Array(out), runMean: new Float64Array(out), runVar: new Float64Array(out).fill(1) };
  });
  const t0 = performance.now();
  const n = o.batch;
  const last = layers.length - 1;
  const xs = [new Float32Array(n * o.sizes[0]), ...layers.map((l) => new Float32Array(n * l.out))];
  const pre = layers.map((l) => new Float32Array(n * l.out)); // a
  const norm = layers.map((l) => new Float32Array(n * l.out)); // xhat
  const post = layers.map((l) => new Float32Array(n * l.out)); // z = γ xhat + β
  const invStd = layers.map((l) => new Float64Array(l.out));
  const wb = layers.map((l) => new Float32Array(l.wt.length));
  const dz = layers.map((l) => new Float32Array(n * l.out));
  const da = layers.map((l) => new Float32Array(n * l.out));
  const dx = layers.map((l) => new Float32Array(n * l.inp));
  const gw = layers.map((l) => new Float32Array(l.wt.length));
  const gg = layers.map((l) => new Float32Array(l.out));
  const gb = layers.map((l) => new Float32Array(l.out));
  const opt = layers.map((l) => ({ w: new Adam(l.wt.length), g: new Adam(l.out), b: new Adam(l.out) }));
  const labels = new Uint8Array(n);

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    // cosine decay: large steps flip many signs early, small ones settle the last
    const lr = o.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / o.epochs));
    const order = random.permutation(data.train.count);
    let loss = 0;
    for (let start = 0; start + n <= data.train.count; start += n) {
      for (let b = 0; b < n; b++) {
        const s = order[start + b];
        xs[0].set(data.train.images.subarray(s * data.train.pixels, (s + 1) * data.train.pixels), b * data.train.pixels);
        labels[b] = data.train.labels[s];
      }
      layers.forEach((l, i) => {
        binarizeWeights(l, wb[i]);
        forwardBatch(xs[i], n, l.inp, wb[i], undefined, l.out, pre[i]);
        batchNormTrain(l, pre[i], n, norm[i], post[i], invStd[i]);
        if (i < last) for (let q = 0; q < post[i].length; q++) xs[i + 1][q] = post[i][q] >= 0 ? 1 : -1;
      });
      loss += softmaxCrossEntropy(post[last], labels, n, layers[last].out, dz[last]);
      for (let i = last; i >= 0; i--) {
        const l = layers[i];
        batchNormBackward(l, dz[i], norm[i], invStd[i], n, da[i], gg[i], gb[i]);
        weightGradBatch(xs[i], n, l.inp, da[i], l.out, gw[i]);
        if (i > 0) {
          inputGradBatch(da[i], n, l.out, wb[i], l.inp, dx[i]);
          // straight-through sign: pass the gradient where the pre-sign value lies in [−1, 1]
          const z = post[i - 1];
          for (let q = 0; q < z.length; q++) dz[i - 1][q] = Math.abs(z[q]) <= 1 ? dx[i][q] : 0;
        }
      }
      layers.forEach((l, i) => {
        opt[i].w.step(l.wt, gw[i], lr);
        for (let q = 0; q < l.wt.length; q++) l.wt[q] = Math.max(-1, Math.min(1, l.wt[q]));
        opt[i].g.step(l.gamma, gg[i], lr);
        opt[i].b.step(l.beta, gb[i], lr);
      });
    }
    log(`binary MLP epoch ${epoch + 1}/${o.epochs}: loss ${(loss / (Math.floor(data.train.count / n) * n)).toFixed(4)}`);
  }
  const float = evalAccuracy(layers, data.test);
  const model = { source: `binary MLP ${o.sizes.join('-')}, seed ${o.seed}`, layers: toFloatLayers(layers) };
  const bundle = binarizeModel(model, { numeric: o.numeric, firstInput: 'fixed', lastOutput: 'scores' });
  const quantized = binaryAccuracy(bundle, data.test);
  log(`binary MLP: float test accuracy ${(float * 100).toFixed(2)}%, golden model ${(quantized * 100).toFixed(2)}%`);
  return { bundle, accuracy: { float, quantized }, seconds: (performance.now() - t0) / 1000 };
}

/** wb = α_i · sign(W) per output i, α_i = mean_k |W_ik| (the α binarize.ts computes). */
function binarizeWeights(l: BinaryLayer, wb: Float32Array): void {
  const alpha = new Float64Array(l.out);
  for (let k = 0; k < l.inp; k++) for (let i = 0; i < l.out; i++) alpha[i] += Math.abs(l.wt[k * l.out + i]);
  for (let i = 0; i < l.out; i++) alpha[i] /= l.inp;
  for (let k = 0; k < l.inp; k++) for (let i = 0; i < l.out; i++) wb[k * l.out + i] = l.wt[k * l.out + i] >= 0 ? alpha[i] : -alpha[i];
}

function batchNormTrain(l: BinaryLayer, a: Float32Array, n: number, xhat: Float32Array, z: Float32Array, invStd: Float64Array): void {
  for (let i = 0; i < l.out; i++) {
    let mean = 0;
    for (let b = 0; b < n; b++) mean += a[b * l.out + i];
    mean /= n;
    let v = 0;
    for (let b = 0; b < n; b++) v += (a[b * l.out + i] - mean) ** 2;
    v /= n;
    invStd[i] = 1 / Math.sqrt(v + BN_EPS);
    for (let b = 0; b < n; b++) {
      const q = b * l.out + i;
      xhat[q] = (a[q] - mean) * invStd[i];
      z[q] = l.gamma[i] * xhat[q] + l.beta[i];
    }
    l.runMean[i] = BN_MOMENTUM * l.runMean[i] + (1 - BN_MOMENTUM) * mean;
    l.runVar[i] = BN_MOMENTUM * l.runVar[i] + (1 - BN_MOMENTUM) * v * (n / (n - 1));
  }
}

function batchNormBackward(l: BinaryLayer, dz: Float32Array, xhat: Float32Array, invStd: Float64Array, n: number, da: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
  for (let i = 0; i < l.out; i++) {
    let sg = 0;
    let sb = 0;
    for (let b = 0; b < n; b++) {
      const q = b * l.out + i;
      sg += dz[q] * xhat[q];
      sb += dz[q];
    }
    dGamma[i] = sg;
    dBeta[i] = sb;
    // d xhat = dz·γ; da = invStd/n · (n·dxhat − Σ dxhat − xhat·Σ dxhat·xhat)
    const g = l.gamma[i];
    for (let b = 0; b < n; b++) {
      const q = b * l.out + i;
      da[q] = (invStd[i] / n) * (n * dz[q] * g - sb * g - xhat[q] * sg * g);
    }
  }
}

/** Accuracy of the float network in eval mode (running statistics). */
function evalAccuracy(layers: BinaryLayer[], data: ImageSet): number {
  let right = 0;
  const wb = layers.map((l) => {
    const w = new Float32Array(l.wt.length);
    binarizeWeights(l, w);
    return w;
  });
  const chunk = 250;
  for (let start = 0; start < data.count; start += chunk) {
    const n = Math.min(chunk, data.count - start);
    let x = data.images.subarray(start * data.pixels, (start + n) * data.pixels);
    layers.forEach((l, i) => {
      const a = new Float32Array(n * l.out);
      forwardBatch(x, n, l.inp, wb[i], undefined, l.out, a);
      for (let q = 0; q < a.length; q++) {
        const c = q % l.out;
        const z = (l.gamma[c] * (a[q] - l.runMean[c])) / Math.sqrt(l.runVar[c] + BN_EPS) + l.beta[c];
        a[q] = i < layers.length - 1 ? (z >= 0 ? 1 : -1) : z;
      }
      x = a;
    });
    const classes = layers[layers.length - 1].out;
    for (let b = 0; b < n; b++) if (argmax(x, b * classes, classes) === data.labels[start + b]) right++;
  }
  return right / data.count;
}

function toFloatLayers(layers: BinaryLayer[]): FloatLayer[] {
  return layers.map((l, n) => {
    const weight = new Float32Array(l.wt.length);
    for (let k = 0; k < l.inp; k++) for (let i = 0; i < l.out; i++) weight[i * l.inp + k] = l.wt[k * l.out + i];
    return {
      name: `fc${n + 1}`, rows: l.out, cols: l.inp, weight, relu: false,
      bn: { gamma: Float64Array.from(l.gamma), beta: Float64Array.from(l.beta), mean: Float64Array.from(l.runMean), variance: Float64Array.from(l.runVar), eps: BN_EPS },
    };
  });
}

/** Top-1 accuracy of the golden model of a binary bundle (the XNOR units' exact arithmetic). */
export function binaryAccuracy(bundle: BinaryBundle, data: ImageSet, count = data.count): number {
  let right = 0;
  for (let n = 0; n < count; n++) {
    const x = quantizeInput(data.images.subarray(n * data.pixels, (n + 1) * data.pixels), bundle.numeric);
    const outs = binaryForward(bundle, x);
    if (argmax(outs[outs.length - 1]) === data.labels[n]) right++;
  }
  return right / count;
}

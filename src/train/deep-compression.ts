import { encodeSharedLayer } from '../compress/compress.js';
import { assignNearest, kmeans1d } from '../compress/kmeans.js';
import { pruneToDensity } from '../compress/prune.js';
import { bundleForward, quantizeInput } from '../golden/eie.js';
import type { Bundle, FloatLayer, NumericFormat, SparseFormat } from '../model/types.js';
import type { Dataset, ImageSet } from './dataset.js';
import { argmax } from './kernels.js';
import { initMlp, mlpAccuracy, trainMlp, type Mlp, type MlpLayer } from './mlp.js';
import { seededRandom, type Random } from './random.js';

/**
 * Deep Compression with retraining (Han et al., ICLR 2016), as the paper does it for LeNet-300-100: train the
 * float network; prune by magnitude in stages, retraining the kept weights after each stage, down to a density
 * per layer; share weights by k-means (linear initialization) and fine-tune the centroids, each moved by the sum
 * of its weights' gradients; then the existing encoder (CSC over the PEs, Huffman in the bundle writer).
 */
export interface DeepCompressionOptions {
  seed: number;
  /** Layer sizes, input first: LeNet-300-100 is 784, 300, 100, 10. */
  sizes: number[];
  /** Final density of each layer (the paper's LeNet-300-100: 8%, 9%, 26%). */
  density: number[];
  /**
   * Epochs of float training; of retraining after each pruning stage (one value per stage: stage s of S prunes to
   * density^(s/S) of the layer); of centroid fine-tuning.
   */
  epochs: { float: number; prune: number[]; share: number };
  batch: number;
  lr: number;
  bits: number;
  sparse: SparseFormat;
  numeric: NumericFormat;
  log?: (line: string) => void;
}

/**
 * The last pruning stage costs the most accuracy (it removes half of what the second one kept), so it retrains
 * longest; with 2 epochs there and 1 of fine-tuning LeNet lost 0.6 points on Fashion-MNIST.
 */
export const LENET_300_100: Omit<DeepCompressionOptions, 'seed' | 'sparse' | 'numeric' | 'log'> = {
  sizes: [784, 300, 100, 10],
  density: [0.08, 0.09, 0.26],
  epochs: { float: 6, prune: [2, 2, 6], share: 2 },
  batch: 50,
  lr: 1e-3,
  bits: 4,
};

export interface DeepCompressionResult {
  bundle: Bundle;
  /** Top-1 test accuracy after each stage; `quantized` is the golden model's (the hardware's arithmetic). */
  accuracy: { float: number; pruned: number; shared: number; quantized: number };
  seconds: { float: number; prune: number; share: number; total: number };
}

export function deepCompress(data: Dataset, o: DeepCompressionOptions): DeepCompressionResult {
  // before the float training, not after its minutes
  if (o.density.length !== o.sizes.length - 1) throw new Error(`deepCompress: ${o.density.length} densities for ${o.sizes.length - 1} layers`);
  const random = seededRandom(o.seed);
  const net = initMlp(o.sizes, random);
  const t0 = performance.now();
  const float = trainFloat(net, data, o, random);
  const t1 = performance.now();
  const rest = compressTrained(net, data, o, random);
  const sec = (a: number, b: number) => (b - a) / 1000;
  return {
    bundle: rest.bundle,
    accuracy: { float, ...rest.accuracy },
    seconds: { float: sec(t0, t1), ...rest.seconds, total: sec(t0, performance.now()) },
  };
}

function trainer(net: Mlp, data: Dataset, o: DeepCompressionOptions, random: Random) {
  const log = o.log ?? (() => {});
  return (epochs: number, lr: number, schedule: { halveEvery?: number; cosine?: boolean }, what: string) =>
    trainMlp(net, data.train, { epochs, batch: o.batch, lr, ...schedule, random, onEpoch: (e, loss) => log(`${what} epoch ${e + 1}/${epochs}: loss ${loss.toFixed(4)}`) });
}

/** The float network, trained in place from its initial weights; returns its top-1 test accuracy. */
function trainFloat(net: Mlp, data: Dataset, o: DeepCompressionOptions, random: Random): number {
  trainer(net, data, o, random)(o.epochs.float, o.lr, { halveEvery: 3 }, 'float');
  const float = mlpAccuracy(net, data.test);
  o.log?.(`float: test accuracy ${pct(float)}`);
  return float;
}

/** Prune + retrain, k-means + centroid fine-tuning, encode: everything after the float training. */
function compressTrained(net: Mlp, data: Dataset, o: DeepCompressionOptions, random: Random) {
  const log = o.log ?? (() => {});
  const train = trainer(net, data, o, random);
  const t1 = performance.now();
  const stages = o.epochs.prune.length;
  for (let s = 1; s <= stages; s++) {
    net.layers.forEach((l, i) => prune(l, o.density[i] ** (s / stages)));
    // each stage starts at half the float rate and decays to 0: the kept weights settle before the next cut
    train(o.epochs.prune[s - 1], o.lr / 2, { cosine: true }, `prune stage ${s}/${stages}`);
    log(`prune stage ${s}: test accuracy ${pct(mlpAccuracy(net, data.test))}`);
  }
  const pruned = mlpAccuracy(net, data.test);
  const t2 = performance.now();

  for (const l of net.layers) share(l, 2 ** o.bits - 1);
  log(`k-means: test accuracy ${pct(mlpAccuracy(net, data.test))}`);
  train(o.epochs.share, o.lr / 10, { cosine: true }, 'centroid fine-tuning');
  const shared = mlpAccuracy(net, data.test);
  log(`centroid fine-tuning: test accuracy ${pct(shared)}`);
  const t3 = performance.now();

  const bundle = encodeMlp(net, o);
  const quantized = goldenAccuracy(bundle, data.test);
  log(`golden model (hardware arithmetic): test accuracy ${pct(quantized)}`);
  const sec = (a: number, b: number) => (b - a) / 1000;
  return { bundle, accuracy: { pruned, shared, quantized }, seconds: { prune: sec(t1, t2), share: sec(t2, t3) } };
}

/** Keeps the `density` fraction of the layer's weights with the largest magnitudes (of those still kept). */
function prune(l: MlpLayer, density: number): void {
  const kept = pruneToDensity(l.wt, density);
  l.mask = new Uint8Array(l.wt.length);
  for (const k of kept) l.mask[k] = 1;
  for (let k = 0; k < l.wt.length; k++) if (!l.mask[k]) l.wt[k] = 0;
}

/** k-means over the kept weights; each takes its nearest centroid's code. */
function share(l: MlpLayer, k: number): void {
  const mask = l.mask ?? new Uint8Array(l.wt.length).fill(1);
  const at: number[] = [];
  for (let q = 0; q < mask.length; q++) if (mask[q]) at.push(q);
  const values = Float32Array.from(at, (q) => l.wt[q]);
  const { centroids } = kmeans1d(values, k);
  const nearest = assignNearest(values, centroids);
  const codes = new Uint8Array(l.wt.length);
  at.forEach((q, n) => (codes[q] = nearest[n] + 1));
  l.share = { codes, centroids: Float32Array.from(centroids) };
}

/** The trained network as float layers ([out, in] row-major, as weights files hold them). */
export function mlpToFloatLayers(net: Mlp): FloatLayer[] {
  return net.layers.map((l, n) => {
    const weight = new Float32Array(l.wt.length);
    for (let k = 0; k < l.inp; k++) for (let i = 0; i < l.out; i++) weight[i * l.inp + k] = l.wt[k * l.out + i];
    return { name: `fc${n + 1}`, rows: l.out, cols: l.inp, weight, bias: Float32Array.from(l.bias), relu: n < net.layers.length - 1 };
  });
}

/** The shared network through the existing encoder: kept positions and codes in row-major order. */
function encodeMlp(net: Mlp, o: DeepCompressionOptions): Bundle {
  const floats = mlpToFloatLayers(net);
  const layers = net.layers.map((l, n) => {
    const { codes, centroids } = l.share!;
    const kept: number[] = [];
    const code: number[] = [];
    for (let i = 0; i < l.out; i++) {
      for (let k = 0; k < l.inp; k++) {
        const c = codes[k * l.out + i];
        if (c) {
          kept.push(i * l.inp + k);
          code.push(c);
        }
      }
    }
    return encodeSharedLayer(floats[n], { kept: Uint32Array.from(kept), codes: Uint8Array.from(code), centroids }, o);
  });
  return { engine: 'eie', numeric: { ...o.numeric }, sparse: { ...o.sparse }, layers, meta: {} };
}

/** Top-1 accuracy of the golden model (the engine's exact arithmetic) on a set. */
export function goldenAccuracy(bundle: Bundle, data: ImageSet, count = data.count): number {
  let right = 0;
  for (let n = 0; n < count; n++) {
    const x = quantizeInput(data.images.subarray(n * data.pixels, (n + 1) * data.pixels), bundle.numeric);
    const outs = bundleForward(bundle, x);
    if (argmax(outs[outs.length - 1]) === data.labels[n]) right++;
  }
  return right / count;
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}


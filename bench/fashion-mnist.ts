/**
 * bench/fashion-mnist: Deep Compression's LeNet-300-100 row on our own stack, and a binarized MLP on the XNOR
 * units. Trains both from a seed with `hwgen train`'s defaults (so it reproduces the committed models under
 * models/, and says whether the bytes are the same), prints the paper-style table (per layer weights,
 * density, index bits, bytes after Huffman; the ratio; top-1 test accuracy of the float, pruned, and
 * pruned + quantized networks, the last being the golden model, i.e. the hardware's arithmetic; training time),
 * then runs the test images on the generated engines under Verilator, every output compared with the golden model.
 * Usage: npm run bench -- fashion-mnist [--seed 1] [--images 10000] [--pes 4] [--no-train]
 *   --pes N      the EIE engine's PEs (the stored bundle is one PE's CSC; it is re-interleaved)
 *   --no-train   use the committed models and the accuracies they record instead of training (minutes)
 */
import { readFileSync } from 'node:fs';
import { engineFor } from '../src/engines/registry.js';
import { encodeBundle, readAnyBundle } from '../src/model/bundle.js';
import { DEFAULT_MODELS } from '../src/model/default-models.js';
import type { AnyBundle } from '../src/model/types.js';
import { FASHION_MNIST_DIR, loadDataset, type ImageSet } from '../src/train/dataset.js';
import { argmax } from '../src/train/kernels.js';
import { accuracyFromMeta, DEFAULT_SEED, formatAccuracy, trainModel } from '../src/train/recipes.js';
import { simulate, type SimOptions } from '../host/simulate.js';
import { xnorConfigForBundle } from '../src/engines/xnor/config.js';
import { argValue } from './args.js';

export async function benchFashionMnist(args: string[]): Promise<void> {
  const seed = argValue(args, '--seed', DEFAULT_SEED);
  const images = argValue(args, '--images', 10000);
  const train = !args.includes('--no-train');
  const pes = argValue(args, '--pes', 4);
  const data = loadDataset(FASHION_MNIST_DIR);
  for (const binary of [false, true]) {
    const committed = binary ? DEFAULT_MODELS.xnor : DEFAULT_MODELS.eie;
    let bundle: AnyBundle;
    let accuracy: Record<string, number>;
    console.log(`\nbench/fashion-mnist: ${binary ? 'binarized MLP 784-256-256-10 on the XNOR units' : 'LeNet-300-100 with Deep Compression on the EIE engine'}`);
    if (train) {
      const res = trainModel(data, { binary, seed, log: (l) => console.log(`  ${l}`) });
      bundle = res.bundle;
      accuracy = res.accuracy;
      const same = Buffer.from(encodeBundle(bundle)).equals(readFileSync(committed));
      console.log(`  trained in ${res.seconds.toFixed(0)} s (seed ${seed}); bytes ${same ? 'equal' : 'DIFFER from'} the committed ${committed.replace(/.*\/models\//, 'models/')}`);
    } else {
      bundle = readAnyBundle(committed);
      accuracy = accuracyFromMeta(bundle.meta);
      console.log(`  the committed ${committed.replace(/.*\/models\//, 'models/')} (${bundle.meta.source})`);
    }
    console.log(engineFor(bundle).report(bundle).text);
    console.log(`  top-1 test accuracy (10,000 images): ${formatAccuracy(accuracy)}`);
    const lost = (accuracy.float - accuracy.quantized) * 100;
    console.log(`  accuracy lost against the float network: ${lost.toFixed(2)} points`);
    runOnEngine(bundle, bundle.engine === 'xnor' ? { config: xnorConfigForBundle(bundle, { bwnLanes: 16 }) } : { pes }, data.test, images);
  }
}

/** The first `count` test images on the engine under Verilator; outputs must equal the golden model's. */
function runOnEngine(bundle: AnyBundle, build: SimOptions, test: ImageSet, count: number): void {
  const e = engineFor(bundle);
  const xs = Array.from({ length: count }, (_, n) => e.quantizeInput(bundle, test.images.subarray(n * test.pixels, (n + 1) * test.pixels)));
  const t0 = performance.now();
  const res = simulate(bundle, xs, build);
  const engine = `${e.title} engine, ${e.describe(res.config)}`;
  const seconds = (performance.now() - t0) / 1000;
  let right = 0;
  res.outputs.forEach((y, n) => (right += argmax(y) === test.labels[n] ? 1 : 0));
  const cycles = res.cycles.reduce((a, b) => a + b, 0) / count;
  console.log(
    `  ${engine} under Verilator, ${count} test images: ${res.golden.match ? 'every output equals the golden model' : `MISMATCH ${JSON.stringify(res.golden.firstMismatch)}`}; ` +
      `accuracy ${((right / count) * 100).toFixed(2)}%; ${cycles.toFixed(0)} cycles per image; build ${res.build.cached ? 'cached' : `${res.build.seconds.toFixed(1)} s`}, run ${seconds.toFixed(1)} s`,
  );
}

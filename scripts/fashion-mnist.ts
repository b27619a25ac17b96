/**
 * The quick start's Fashion-MNIST helper.
 *   tsx scripts/fashion-mnist.ts images out.npy [n]   the first n test images (default 8) as the models take them:
 *                                                      pixels / 255, float32 [n, 784]
 *   tsx scripts/fashion-mnist.ts score scores.npy model.hwb
 *                                                      each image's answer (the largest score) against its label,
 *                                                      and the model's accuracy on all 10,000 test images
 */
import { writeFileAtomic, readFileChecked } from '../src/atomic.js';
import { HwgenError } from '../src/errors.js';
import { readAnyBundle } from '../src/model/bundle.js';
import { encodeNpy, parseNpy } from '../src/model/npy.js';
import { toFloat64 } from '../src/model/ndarray.js';
import { FASHION_MNIST_DIR, loadTestSet } from '../src/train/dataset.js';
import { argmax } from '../src/train/kernels.js';
import { accuracyFromMeta } from '../src/train/recipes.js';

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const USAGE = 'usage: tsx scripts/fashion-mnist.ts images out.npy [n] | score scores.npy model.hwb';

function main([mode, file, extra]: string[]): void {
  if (mode === 'images' && file) {
    const n = Number(extra ?? 8);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new HwgenError(`images: n = ${extra}: give a whole number of test images from 1 to 10000`, 2);
    const test = loadTestSet(FASHION_MNIST_DIR);
    writeFileAtomic(file, encodeNpy({ dtype: 'f4', shape: [n, test.pixels], data: test.images.slice(0, n * test.pixels) }), 'images');
    console.log(`wrote ${file}: the first ${n} Fashion-MNIST test images, pixels / 255, float32 [${n}, ${test.pixels}]`);
  } else if (mode === 'score' && file && extra) {
    const scores = parseNpy(readFileChecked(file, 'scores'), file);
    const acc = accuracyFromMeta(readAnyBundle(extra).meta);
    const test = loadTestSet(FASHION_MNIST_DIR);
    const [n, classes] = scores.shape;
    if (scores.shape.length !== 2 || classes !== CLASSES.length || n > test.count) {
      throw new HwgenError(`${file}: scores of shape (${scores.shape.join(', ')}); give the [n, ${CLASSES.length}] outputs of the first n test images (hwgen sim -o)`);
    }
    const s = toFloat64(scores);
    let right = 0;
    for (let i = 0; i < n; i++) {
      const guess = argmax(s, i * classes, classes);
      right += guess === test.labels[i] ? 1 : 0;
      console.log(`  image ${i}: engine says ${CLASSES[guess].padEnd(11)}  label ${CLASSES[test.labels[i]].padEnd(11)} ${guess === test.labels[i] ? 'right' : 'wrong'}`);
    }
    console.log(`${right} of ${n} right; the model's top-1 accuracy on all 10,000 test images: ${((acc.quantized ?? NaN) * 100).toFixed(2)}% (float network ${((acc.float ?? NaN) * 100).toFixed(2)}%)`);
  } else {
    throw new HwgenError(USAGE, 2);
  }
}

// A mistake the user can act on is one line, as hwgen prints it; anything else is a bug and keeps its stack.
try {
  main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof HwgenError)) throw e;
  console.error(`fashion-mnist: error: ${e.message}`);
  process.exitCode = e.exitCode;
}

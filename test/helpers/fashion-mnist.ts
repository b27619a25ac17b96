/**
 * The Fashion-MNIST files from Debian's dataset-fashion-mnist. Missing data is an error, never a skip: the
 * tests must not pass without having read the real files.
 */
import { existsSync } from 'node:fs';
import { FASHION_MNIST_DIR, FASHION_MNIST_PACKAGE } from '../../src/train/dataset.js';

export function fashionMnistDir(): string {
  if (!existsSync(FASHION_MNIST_DIR)) {
    throw new Error(`Fashion-MNIST is not installed (${FASHION_MNIST_DIR}); install Debian's ${FASHION_MNIST_PACKAGE} (scripts/install-deps.sh does)`);
  }
  return FASHION_MNIST_DIR;
}

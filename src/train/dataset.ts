import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HwgenError } from '../errors.js';
import { readIdx } from '../model/idx.js';

/** Where Debian's `dataset-fashion-mnist` package puts the four gzipped IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';

/** Images as the models take them: pixels / 255, float32, one row of H·W per image. */
export interface ImageSet {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  /** Values per image (784 for 28×28). */
  pixels: number;
  classes: number;
}

export interface Dataset {
  train: ImageSet;
  test: ImageSet;
}

/** The MNIST file names (Fashion-MNIST keeps them); each may be gzipped (`.gz`) or not. */
const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** Reads an MNIST-style directory: train and t10k images and labels. */
export function loadDataset(dir: string): Dataset {
  if (!existsSync(dir)) {
    const hint = dir === FASHION_MNIST_DIR ? `install Debian's ${FASHION_MNIST_PACKAGE} package (scripts/install-deps.sh does)` : 'check the path';
    throw new HwgenError(`data directory ${dir} does not exist; ${hint}`);
  }
  return { train: loadSplit(dir, ...FILES.train), test: loadSplit(dir, ...FILES.test) };
}

/** Only the test split (what the simulation tests and benches need). */
export function loadTestSet(dir: string): ImageSet {
  return loadDataset(dir).test;
}

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new HwgenError(`${dir}: no ${base}.gz or ${base}; an MNIST-style data directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (gzipped or not)`);
}

export function loadSplit(dir: string, imagesBase: string, labelsBase: string): ImageSet {
  const imagesPath = findFile(dir, imagesBase);
  const labelsPath = findFile(dir, labelsBase);
  const img = readIdx(imagesPath);
  const lab = readIdx(labelsPath);
  if (!(img.data instanceof Uint8Array) || img.dims.length !== 3) {
    throw new HwgenError(`${imagesPath}: expected images as unsigned bytes [n, rows, cols], found ${img.dims.length} dimension(s) of another type`);
  }
  if (!(lab.data instanceof Uint8Array) || lab.dims.length !== 1) {
    throw new HwgenError(`${labelsPath}: expected labels as unsigned bytes [n], found ${lab.dims.length} dimension(s) of another type`);
  }
  const [count, h, w] = img.dims;
  if (lab.dims[0] !== count) throw new HwgenError(`${labelsPath}: ${lab.dims[0]} labels for the ${count} images of ${imagesPath}; they must agree`);
  let classes = 0;
  for (const l of lab.data) classes = Math.max(classes, l + 1);
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  return { images, labels: lab.data, count, pixels: h * w, classes };
}

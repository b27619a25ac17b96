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
  /** Values per image (784 for 28×28): height × width. */
  pixels: number;
  height: number;
  width: number;
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
  const data = { train: loadSplit(dir, ...FILES.train), test: loadSplit(dir, ...FILES.test) };
  checkDataset(data, dir);
  return data;
}

/**
 * What makes a training meaningless, refused before any training: images of other sizes in train and test, a
 * label no training image has below the largest (labels name classes 0..C-1, and a class without examples is
 * a wrong file or a wrong label encoding), and test labels outside the training classes.
 */
function checkDataset({ train, test }: Dataset, dir: string): void {
  const [tr, te] = [FILES.train[0], FILES.test[0]];
  if (train.height !== test.height || train.width !== test.width) {
    throw new HwgenError(`${dir}: the training images are ${train.height}×${train.width} and the test images ${test.height}×${test.width} (${tr}, ${te}); both sets must have images of one size`);
  }
  const seen = new Uint32Array(256);
  for (const l of train.labels) seen[l]++;
  const missing = [...Array(train.classes).keys()].filter((c) => !seen[c]);
  if (missing.length) {
    const list = missing.length > 8 ? `${missing.slice(0, 8).join(', ')} and ${missing.length - 8} more` : missing.join(', ');
    throw new HwgenError(`${dir}: the training labels run up to ${train.classes - 1}, so ${train.classes} classes, but no training image has label ${list} (${FILES.train[1]}); labels must be the classes 0..C-1, each with training images`);
  }
  const bad = test.labels.findIndex((l) => l >= train.classes);
  if (bad >= 0) {
    throw new HwgenError(`${dir}: test label ${test.labels[bad]} (image ${bad} of ${FILES.test[1]}) is outside the training classes 0..${train.classes - 1}; the test set must use the training set's classes`);
  }
}

/** Only the test split (what the simulation tests and benches need). */
export function loadTestSet(dir: string): ImageSet {
  if (!existsSync(dir)) return loadDataset(dir).test; // says what to install
  return loadSplit(dir, ...FILES.test);
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
  if (count === 0 || h === 0 || w === 0) throw new HwgenError(`${imagesPath}: holds no images (dimensions ${img.dims.join(' x ')}); give a file with at least one image`);
  let classes = 0;
  for (const l of lab.data) classes = Math.max(classes, l + 1);
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  return { images, labels: lab.data, count, pixels: h * w, height: h, width: w, classes };
}

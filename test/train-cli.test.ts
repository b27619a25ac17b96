/**
 * `hwgen train`'s refusals, as a user meets them: each bad option or data directory stops before any training,
 * with a clear message, a non-zero exit and no output file. (Training itself runs in the bench, never here.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHwgen } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-train-'));
const noIdx = join(dir, 'no-idx');
mkdirSync(noIdx);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hwgen train refuses bad input before training', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['one density per layer', ['--density', '0.1,0.2'], 2, /--density 0\.1,0\.2: 2 value\(s\) for 3 layers/],
    ['densities in (0, 1]', ['--density', '0.1,0,0.3'], 2, /give one density in \(0, 1\] per layer/],
    ['hidden sizes', ['--hidden', '300,x'], 2, /--hidden 300,x: give sizes as positive integers/],
    ['densities for other hidden sizes', ['--hidden', '100'], 2, /--hidden 100: the default densities are for 3 layers; give --density with one value per layer \(2\)/],
    ['epochs', ['--epochs', '-1'], 2, /--epochs -1: give a whole number of epochs/],
    ['retraining epochs per pruning stage', ['--prune-epochs', '2,x,6'], 2, /--prune-epochs 2,x,6: give whole numbers of epochs, 0\.\.1000: one for every stage \(2\) or one per stage \(2,2,6\)/],
    ['retraining epochs, whole', ['--prune-epochs', '1.5'], 2, /--prune-epochs 1\.5: give whole numbers of epochs/],
    ['pruning options with --binary', ['--binary', '--prune-epochs', '3'], 2, /--prune-epochs has no effect with --binary: it trains without pruning or weight sharing/],
    ['a missing data directory', ['--data', join(dir, 'nowhere')], 1, /data directory .*nowhere does not exist; check the path/],
    ['a data directory without IDX files', ['--data', noIdx], 1, /no train-images-idx3-ubyte\.gz or train-images-idx3-ubyte/],
  ];
  for (const [what, args, code, pattern] of cases) {
    it(what, () => {
      const out = join(dir, 'model.hwb');
      const r = runHwgen(dir, ['train', '-o', out, '--quiet', ...args]);
      expect(r.code, r.err).toBe(code);
      expect(r.err).toMatch(pattern);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a truncated images file names the file', () => {
    const data = join(dir, 'cut');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'train-images-idx3-ubyte'), Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]));
    writeFileSync(join(data, 'train-labels-idx1-ubyte'), Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const r = runHwgen(dir, ['train', '-o', join(dir, 'm.hwb'), '--quiet', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cut.train-images-idx3-ubyte: not a valid IDX file: truncated: dimensions 9 x 28 x 28/);
  });
});

/** An IDX file of unsigned bytes with the given dimensions (MNIST's format). */
function idx(dims: number[], data: ArrayLike<number>): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  return Uint8Array.from([...new Uint8Array(head.buffer), ...Array.from(data)]);
}

/**
 * A tiny MNIST-style folder: `n` images of `size`×`size` pixels per split whose class (0..classes-1) is the one
 * lit quarter of the image, so a small MLP learns it in a few epochs; `labels` may replace a split's labels.
 */
function dataFolder(name: string, o: { train?: number; test?: number; size?: number; testSize?: number; trainLabels?: number[]; testLabels?: number[] } = {}): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const classes = 4;
  const split = (n: number, size: number, labels?: number[]) => {
    const ls = labels ?? Array.from({ length: n }, (_, i) => i % classes);
    const px = new Uint8Array(ls.length * size * size);
    ls.forEach((l, i) => {
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        const q = (y < size / 2 ? 0 : 2) + (x < size / 2 ? 0 : 1);
        px[i * size * size + y * size + x] = q === l % classes ? 200 + ((i * 7 + x) % 50) : (i * 13 + y * 5 + x) % 40;
      }
    });
    return [idx([ls.length, size, size], px), idx([ls.length], ls)];
  };
  const [trI, trL] = split(o.train ?? 64, o.size ?? 6, o.trainLabels);
  const [teI, teL] = split(o.test ?? 32, o.testSize ?? o.size ?? 6, o.testLabels);
  writeFileSync(join(d, 'train-images-idx3-ubyte'), trI);
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), trL);
  writeFileSync(join(d, 't10k-images-idx3-ubyte'), teI);
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), teL);
  return d;
}

describe('hwgen train checks the data and its output before training', () => {
  const small = ['--hidden', '8,8', '--prune-epochs', '0', '--share-epochs', '0', '--quiet'];
  const cases: [string, () => string[], number, RegExp][] = [
    ['train and test images of other sizes', () => ['--data', dataFolder('sizes', { size: 6, testSize: 5 })], 1, /the training images are 6×6 and the test images 5×5 .*both sets must have images of one size/],
    ['a label of 255 among 0..3', () => ['--data', dataFolder('l255', { trainLabels: [...Array.from({ length: 63 }, (_, i) => i % 4), 255] })], 1, /training labels run up to 255, so 256 classes, but no training image has label 4, 5, 6, .* and \d+ more/],
    ['test labels outside the training classes', () => ['--data', dataFolder('l9', { testLabels: [0, 1, 2, 9] })], 1, /test label 9 \(image 3 of t10k-labels-idx1-ubyte\) is outside the training classes 0\.\.3/],
    ['no training images', () => ['--data', dataFolder('none', { trainLabels: [] })], 1, /train-images-idx3-ubyte: holds no images \(dimensions 0 x 6 x 6\)/],
    ['no test images', () => ['--data', dataFolder('notest', { testLabels: [] })], 1, /t10k-images-idx3-ubyte: holds no images/],
    ['--binary with --bits and --pes', () => ['--data', dataFolder('ok'), '--binary', '--bits', '3', '--pes', '4'], 2, /--bits has no effect with --binary/],
    ['a folder as -o', () => ['--data', dataFolder('ok'), '-o', dir], 2, /cannot write -o .*: it is a directory; give a file path/],
  ];
  for (const [what, args, code, pattern] of cases) {
    it(what, () => {
      const out = join(dir, 'model.hwb');
      const extra = args();
      const r = runHwgen(dir, ['train', ...(extra.includes('-o') ? [] : ['-o', out]), ...(extra.includes('--binary') ? ['--quiet'] : small), '--epochs', '1', ...extra]);
      expect(r.code, r.err).toBe(code);
      expect(r.err).toMatch(pattern);
      expect(r.err).not.toMatch(/\n\s+at |internal error/);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('-o into the data folder is refused, and the data stays as it was', () => {
    const d = dataFolder('keep');
    const before = readFileSync(join(d, 'train-images-idx3-ubyte'));
    const r = runHwgen(dir, ['train', '--data', d, '-o', join(d, 'train-images-idx3-ubyte'), ...small, '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-o .*train-images-idx3-ubyte is inside --data .*keep: writing it would change that input/);
    expect(readFileSync(join(d, 'train-images-idx3-ubyte')).equals(before)).toBe(true);
  });

  it('trains on good tiny data, and warns when a stage loses much accuracy', () => {
    const out = join(dir, 'tiny.hwb');
    const r = runHwgen(dir, ['train', '--data', dataFolder('good', { train: 800, test: 200 }), '-o', out, ...small, '--epochs', '15', '--density', '0.02,0.02,0.02', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(out)).toBe(true);
    const { accuracy } = JSON.parse(r.out) as { accuracy: Record<string, number> };
    expect(accuracy.float).toBeGreaterThan(0.9);
    expect(accuracy.float - accuracy.pruned).toBeGreaterThan(0.05);
    expect(r.err).toMatch(/hwgen: warning: the pruned stage lost \d+\.\d points of top-1 test accuracy \(float \d+\.\d\d%, pruned \d+\.\d\d%\); retrain more after pruning \(--prune-epochs\) or keep more weights \(--density\)/);
  });
});

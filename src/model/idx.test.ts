import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { expectHwgenError } from '../../test/helpers/errors.js';
import { fashionMnistDir } from '../../test/helpers/fashion-mnist.js';
import { loadDataset } from '../train/dataset.js';
import { parseIdx, readIdx } from './idx.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file: header for `type` and `dims`, then `body`. */
function idx(type: number, dims: number[], body: number[]): Uint8Array {
  const head = [0, 0, type, dims.length, ...dims.flatMap((d) => [d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
  return Uint8Array.from([...head, ...body]);
}

describe('IDX reader', () => {
  it('reads the real Fashion-MNIST files: 60,000 + 10,000 images of 28x28, 10 balanced classes', () => {
    const data = fashionMnistDir();
    const images = readIdx(join(data, 't10k-images-idx3-ubyte.gz'));
    expect(images.dims).toEqual([10000, 28, 28]);
    expect(images.data).toBeInstanceOf(Uint8Array);
    const { train, test } = loadDataset(data);
    expect([train.count, test.count, train.pixels, train.classes]).toEqual([60000, 10000, 784, 10]);
    for (const set of [train, test]) {
      const perClass = new Array(10).fill(0);
      for (const l of set.labels) perClass[l]++;
      expect(perClass).toEqual(new Array(10).fill(set.count / 10));
      let max = 0;
      for (const x of set.images) max = Math.max(max, x);
      expect(max).toBe(1); // pixels / 255
    }
    expect(test.images[0 * 784 + 400]).toBeCloseTo(images.data[400] / 255, 6);
  });

  it('reads the other element types big-endian, gzipped or not', () => {
    const ints = idx(0x0c, [2], [0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]);
    expect(Array.from(parseIdx(ints, 'ints').data)).toEqual([-2, 256]);
    const floats = idx(0x0d, [1, 1], [0x3f, 0xc0, 0, 0]);
    expect(Array.from(parseIdx(gzipSync(floats), 'floats').data)).toEqual([1.5]);
    const shorts = idx(0x0b, [1], [0x80, 0x00]);
    expect(Array.from(parseIdx(shorts, 'shorts').data)).toEqual([-32768]);
  });

  it('refuses malformed and truncated files, naming the file and what is wrong', () => {
    const real = readFileSync(join(fashionMnistDir(), 't10k-labels-idx1-ubyte.gz'));
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty.*only 0 bytes/],
      ['bad-magic', Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]), /bad-magic.*magic number starts 01 02/],
      ['bad-type', idx(0x0a, [1], [0]), /bad-type.*unknown type code 0a/],
      ['no-dims', idx(0x08, [], []), /no-dims.*number of dimensions is 0/],
      ['short-header', Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2]), /short-header.*header needs 16 bytes/],
      ['truncated', idx(0x08, [3, 2], [1, 2, 3, 4, 5]), /truncated.*truncated: dimensions 3 x 2 of unsigned byte need 18 bytes, the file has 17/],
      ['trailing', idx(0x08, [2], [1, 2, 3]), /trailing.*1 bytes after the 2 values/],
      ['cut-gzip', real.subarray(0, real.length - 100), /cut-gzip.*gzip stream is damaged or truncated/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, `${name}.idx`);
      writeFileSync(path, bytes);
      expectHwgenError(() => readIdx(path), pattern);
    }
    expectHwgenError(() => readIdx(join(dir, 'missing.idx')), /missing\.idx: no such file/);
  });

  it('refuses a data directory whose files do not fit together', () => {
    const bad = join(dir, 'data');
    rmSync(bad, { recursive: true, force: true });
    expectHwgenError(() => loadDataset(bad), /data directory .*data does not exist/);
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'train-images-idx3-ubyte'), idx(0x08, [2, 1, 2], [0, 255, 0, 0]));
    writeFileSync(join(bad, 'train-labels-idx1-ubyte'), idx(0x08, [3], [0, 1, 1]));
    expectHwgenError(() => loadDataset(bad), /3 labels for the 2 images/);
    writeFileSync(join(bad, 'train-labels-idx1-ubyte'), idx(0x08, [2], [0, 1]));
    expectHwgenError(() => loadDataset(bad), /no t10k-images-idx3-ubyte\.gz or t10k-images-idx3-ubyte/);
  });
});

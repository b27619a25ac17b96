/**
 * Writes an example network with LeNet-300-100's shape (784-300-100-10, Deep Compression's first
 * benchmark) and Gaussian weights scaled like a trained net's (std = 1/sqrt(inputs)). Deterministic.
 * Also writes a batch of 8 inputs (non-negative, half of them zero, like ReLU outputs) beside it as
 * <out>-input.npy. Usage: tsx scripts/make-example.ts out.npz
 */
import { writeFileAtomic } from '../src/atomic.js';
import { encodeNpy } from '../src/model/npy.js';
import { encodeNpz } from '../src/model/npz.js';
import type { NdArray } from '../src/model/ndarray.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: tsx scripts/make-example.ts out.npz');
  process.exit(2);
}
let s = 2016;
const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
const sizes = [784, 300, 100, 10];
const arrays: { name: string; array: NdArray }[] = [];
for (let l = 1; l < sizes.length; l++) {
  const [rows, cols] = [sizes[l], sizes[l - 1]];
  const w = Float32Array.from({ length: rows * cols }, () => gauss() / Math.sqrt(cols));
  const b = Float32Array.from({ length: rows }, () => gauss() * 0.01);
  arrays.push({ name: `fc${l}.weight`, array: { dtype: 'f4', shape: [rows, cols], data: w } });
  arrays.push({ name: `fc${l}.bias`, array: { dtype: 'f4', shape: [rows], data: b } });
}
writeFileAtomic(out, encodeNpz(arrays));
const inputs = Float32Array.from({ length: 8 * sizes[0] }, () => (u() < 0.5 ? 0 : Math.abs(gauss())));
const inputPath = out.replace(/\.npz$/, '') + '-input.npy';
writeFileAtomic(inputPath, encodeNpy({ dtype: 'f4', shape: [8, sizes[0]], data: inputs }));
console.log(`wrote ${out}: ${sizes.join('-')}, and 8 inputs in ${inputPath}`);

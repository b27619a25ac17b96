import type { FloatModel } from '../model/types.js';

/** The float reference: the original (uncompressed) network in float64, to measure what compression costs. */
export function floatForward(model: FloatModel, input: ArrayLike<number>): Float64Array {
  let x = Float64Array.from(input);
  for (const layer of model.layers) {
    const y = new Float64Array(layer.rows);
    for (let i = 0; i < layer.rows; i++) {
      let s = layer.bias ? layer.bias[i] : 0;
      const row = i * layer.cols;
      for (let j = 0; j < layer.cols; j++) s += layer.weight[row + j] * x[j];
      y[i] = layer.relu && s < 0 ? 0 : s;
    }
    x = y;
  }
  return x;
}

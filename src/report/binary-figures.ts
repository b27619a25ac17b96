import type { NumericFormat, XnorLayer } from '../model/types.js';

/**
 * The data behind a binary layer's figure: one row per output (its threshold, or its α and bias), or for a
 * layer with more than MAX_OUTPUTS outputs every k-th output, so the page stays small.
 */

export const MAX_OUTPUTS = 512;

export interface OutputParam {
  output: number;
  /** threshold layers: the integer threshold T; scores layers: α (batch-norm's scale folded in) as a real value. */
  value: number;
  /** threshold layers: batch-norm's γ < 0 flipped the comparison. */
  flipped?: boolean;
  /** scores layers: the bias as a real value. */
  bias?: number;
}

export interface BinaryLayerFigures {
  kind: 'threshold' | 'scores';
  outputs: OutputParam[];
  /** Every `stride`-th output is shown (1: all of them). */
  stride: number;
}

export function binaryLayerFigures(layer: XnorLayer, numeric: NumericFormat): BinaryLayerFigures {
  // The bias B carries alphaFrac plus the input's fractional bits (docs/xnor.md, "Scores").
  const inputFrac = layer.input === 'fixed' ? numeric.actFrac : 0;
  const stride = Math.ceil(layer.rows / MAX_OUTPUTS);
  const outputs: OutputParam[] = [];
  for (let i = 0; i < layer.rows; i += stride) {
    if (layer.output === 'threshold') outputs.push({ output: i, value: layer.threshold[i], flipped: layer.flip[i] === 1 });
    else {
      outputs.push({
        output: i,
        value: layer.alpha[i] / 2 ** layer.alphaFrac,
        bias: layer.bias[i] / 2 ** (layer.alphaFrac + inputFrac),
      });
    }
  }
  return { kind: layer.output, outputs, stride };
}

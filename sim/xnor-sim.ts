import { HwgenError } from '../src/errors.js';
import { XNOR_STATS_FIELDS } from '../src/gen/commands.js';
import { xnorConfigForBundle, type XnorConfig } from '../src/gen/xnor-config.js';
import { renderXnor } from '../src/gen/xnor-rtl.js';
import { binaryForward, layerInputs } from '../src/golden/xnor.js';
import type { BinaryBundle } from '../src/model/types.js';
import { splitResponses, type Command } from '../host/eie-image.js';
import {
  xnorDecodeOutput, xnorInputCommands, xnorLoadCommands, xnorReadCommands, xnorRunCommand, xnorStatsCommand,
} from '../host/xnor-image.js';
import { buildModel, runStream } from './verilator.js';

export interface XnorSimOptions {
  /** The build to simulate; derived from the bundle when absent. */
  config?: XnorConfig;
  trace?: string;
}

export interface XnorSimResult {
  config: XnorConfig;
  outputs: Int32Array[];
  /** Compute cycles of each inference (RUN to done). */
  cycles: number[];
  /** Per inference and layer: cycles from the layer's set-up to its last result. */
  layerCycles: number[][];
  /** Per inference: folds issued. */
  folds: number[];
  golden: { match: boolean; firstMismatch?: { input: number; index: number; rtl: number; golden: number } };
  build: { cached: boolean; seconds: number };
}

/** Builds (or reuses) the model, loads the bundle, runs every input and compares with the golden model. */
export function simulateXnor(bundle: BinaryBundle, inputs: Int32Array[], opts: XnorSimOptions = {}): XnorSimResult {
  const config = opts.config ?? xnorConfigForBundle(bundle);
  const model = buildModel({ files: renderXnor(config), top: 'xnor_top', trace: Boolean(opts.trace) });
  const layers = bundle.layers.length;
  const reads = xnorReadCommands(bundle, config);

  const cmds: Command[] = [...xnorLoadCommands(bundle, config)];
  const runAt: number[] = [];
  for (const x of inputs) {
    if (x.length !== layerInputs(bundle.layers[0])) {
      throw new HwgenError(`input ${runAt.length} has ${x.length} values; the first layer takes ${layerInputs(bundle.layers[0])}`);
    }
    cmds.push(...xnorInputCommands(bundle, x, config));
    runAt.push(cmds.length);
    cmds.push(xnorRunCommand(layers), ...reads, xnorStatsCommand(config));
  }
  const stream = new Uint32Array(cmds.flatMap((c) => c.words));
  const resp = runStream(model.binary, stream, opts.trace ? ['--trace', opts.trace] : []).words;
  const parts = splitResponses(cmds, resp, 'simulation');

  const result: XnorSimResult = {
    config, outputs: [], cycles: [], layerCycles: [], folds: [], golden: { match: true },
    build: { cached: model.cached, seconds: model.buildSeconds },
  };
  inputs.forEach((x, n) => {
    const at = runAt[n];
    const words = new Uint32Array(reads.reduce((s, c) => s + c.respWords, 0));
    let off = 0;
    reads.forEach((_, k) => {
      words.set(parts[at + 1 + k], off);
      off += parts[at + 1 + k].length;
    });
    const y = xnorDecodeOutput(bundle, config, words);
    const stats = parts[at + 1 + reads.length];
    result.outputs.push(y);
    result.cycles.push(parts[at][0]);
    result.folds.push(stats[2]);
    result.layerCycles.push(Array.from(stats.subarray(XNOR_STATS_FIELDS.length, XNOR_STATS_FIELDS.length + layers)));
    if (result.golden.match) {
      const want = binaryForward(bundle, x)[layers - 1];
      const index = want.findIndex((v, i) => v !== y[i]);
      if (index >= 0) result.golden = { match: false, firstMismatch: { input: n, index, rtl: y[index], golden: want[index] } };
    }
  });
  return result;
}

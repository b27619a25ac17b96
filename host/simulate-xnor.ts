import { HwgenError } from '../src/errors.js';
import { XNOR_STATS_FIELDS } from '../src/protocol/command-set.js';
import { xnorConfigForBundle, type XnorConfig } from '../src/engines/xnor/config.js';
import { renderXnor } from '../src/engines/xnor/rtl.js';
import { binaryForward } from '../src/golden/xnor.js';
import { layerInputs } from '../src/model/layout.js';
import type { BinaryBundle } from '../src/model/types.js';
import { joinData, runCommand, splitResponses, type Command } from '../src/protocol/command-words.js';
import { xnorDecodeOutput, xnorInputCommands, xnorLoadCommands, xnorReadCommands, xnorStatsCommand } from '../src/engines/xnor/image.js';
import { goldenVerdict, type GoldenVerdict } from '../src/golden/verdict.js';
import { buildModel, runStream } from '../sim/verilator.js';

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
  golden: GoldenVerdict;
  build: { cached: boolean; seconds: number };
}

/** Builds (or reuses) the model, loads the bundle, runs every input and compares with the golden model. */
export function simulateXnor(bundle: BinaryBundle, inputs: Int32Array[], opts: XnorSimOptions = {}): XnorSimResult {
  const config = opts.config ?? xnorConfigForBundle(bundle);
  const model = buildModel({ files: renderXnor(config), top: 'xnor_top', trace: Boolean(opts.trace) });
  const layers = bundle.layers.length;
  const reads = xnorReadCommands(bundle, config);

  const stats = xnorStatsCommand(config);
  const cmds: Command[] = [...xnorLoadCommands(bundle, config)];
  const runAt: number[] = [];
  for (const x of inputs) {
    if (x.length !== layerInputs(bundle.layers[0])) {
      throw new HwgenError(`input ${runAt.length} has ${x.length} values; the first layer takes ${layerInputs(bundle.layers[0])}`);
    }
    cmds.push(...xnorInputCommands(bundle, x, config));
    runAt.push(cmds.length);
    cmds.push(runCommand(layers), ...reads, stats);
  }
  const resp = runStream(model.binary, new Uint32Array(cmds.flatMap((c) => c.words)), opts.trace ? ['--trace', opts.trace] : []).words;
  const parts = splitResponses(cmds, resp, 'simulation');
  // The answers of inference n: RUN at runAt[n], then the reads, then STATS.
  const outputs = runAt.map((at) => xnorDecodeOutput(bundle, config, joinData(parts.slice(at + 1, at + 1 + reads.length))));
  const statsOf = runAt.map((at) => parts[at + 1 + reads.length]);
  return {
    config,
    outputs,
    cycles: runAt.map((at) => parts[at][0]),
    layerCycles: statsOf.map((st) => Array.from(st.subarray(XNOR_STATS_FIELDS.length, XNOR_STATS_FIELDS.length + layers))),
    folds: statsOf.map((st) => st[XNOR_STATS_FIELDS.indexOf('folds')]),
    golden: goldenVerdict(outputs, (n) => binaryForward(bundle, inputs[n])[layers - 1]),
    build: { cached: model.cached, seconds: model.buildSeconds },
  };
}

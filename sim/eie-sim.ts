import { HwgenError } from '../src/errors.js';
import { bundleForward } from '../src/golden/eie.js';
import { configForBundle, type EieConfig } from '../src/gen/eie-config.js';
import { renderEie } from '../src/gen/eie-rtl.js';
import type { Bundle } from '../src/model/types.js';
import { STATS_FIELDS } from '../src/gen/commands.js';
import {
  inputCommands, loadCommands, readCommands, runCommand, splitResponses, statsCommand, type Command,
} from '../host/eie-image.js';
import { buildModel, runStream } from './verilator.js';

export interface SimOptions {
  /** The build to simulate; derived from the bundle when absent. */
  config?: EieConfig;
  /** Write an FST waveform here. */
  trace?: string;
}

export interface SimResult {
  config: EieConfig;
  outputs: Int32Array[];
  /** Compute cycles of each inference (RUN to done). */
  cycles: number[];
  /** Cycles from reset to the end of loading the bundle. */
  loadCycles: number;
  /** Per inference and layer: compute cycles (scan + PE pipelines). */
  layerCycles: number[][];
  /** Per inference: broadcasts made and cycles a broadcast waited for a full queue. */
  broadcasts: number[];
  stalls: number[];
  /** Whether every output equals the golden model's, and the first mismatch if not. */
  golden: { match: boolean; firstMismatch?: { input: number; index: number; rtl: number; golden: number } };
  build: { cached: boolean; seconds: number };
  /** Simulated cycles per wall-clock second. */
  cyclesPerSecond: number;
}

/** Builds (or reuses) the model, loads the bundle, runs every input and compares with the golden model. */
export function simulateEie(bundle: Bundle, inputs: Int32Array[], opts: SimOptions = {}): SimResult {
  const config = opts.config ?? configForBundle(bundle);
  const model = buildModel({ files: renderEie(config), top: 'eie_top', trace: Boolean(opts.trace) });
  const layers = bundle.layers.length;
  const outLen = bundle.layers[layers - 1].rows;

  const cmds: Command[] = [...loadCommands(bundle, config), statsCommand(config)];
  const perInput: number[] = [];
  for (const x of inputs) {
    if (x.length !== bundle.layers[0].cols) {
      throw new HwgenError(`input ${perInput.length} has ${x.length} values; the first layer takes ${bundle.layers[0].cols}`);
    }
    perInput.push(cmds.length);
    cmds.push(...inputCommands(x, config), runCommand(layers), ...readCommands(outLen, config), statsCommand(config));
  }
  const stream = new Uint32Array(cmds.flatMap((c) => c.words));
  const run = runStream(model.binary, stream, opts.trace ? ['--trace', opts.trace] : []);
  const parts = splitResponses(cmds, run.words, 'simulation');

  const statsAt = (i: number) => parts[i];
  const loadStats = statsAt(perInput.length ? perInput[0] - 1 : cmds.length - 1);
  const result: SimResult = {
    config,
    outputs: [],
    cycles: [],
    loadCycles: loadStats[0],
    layerCycles: [],
    broadcasts: [],
    stalls: [],
    golden: { match: true },
    build: { cached: model.cached, seconds: model.buildSeconds },
    cyclesPerSecond: run.cycles / run.seconds,
  };
  const readCount = readCommands(outLen, config).length;
  const inCount = (x: Int32Array) => inputCommands(x, config).length;
  inputs.forEach((x, n) => {
    const runAt = perInput[n] + inCount(x);
    const y = new Int32Array(outLen);
    let off = 0;
    for (let k = 0; k < readCount; k++) {
      const words = parts[runAt + 1 + k];
      y.set(Int32Array.from(words, (w) => w | 0), off);
      off += words.length;
    }
    const stats = parts[runAt + 1 + readCount];
    result.outputs.push(y);
    result.cycles.push(parts[runAt][0]);
    result.broadcasts.push(stats[2]);
    result.stalls.push(stats[3]);
    result.layerCycles.push(Array.from(stats.subarray(STATS_FIELDS.length, STATS_FIELDS.length + layers)));
    if (result.golden.match) {
      const want = bundleForward(bundle, x)[layers - 1];
      const index = want.findIndex((v, i) => v !== y[i]);
      if (index >= 0) result.golden = { match: false, firstMismatch: { input: n, index, rtl: y[index], golden: want[index] } };
    }
  });
  return result;
}

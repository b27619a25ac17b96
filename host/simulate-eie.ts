import { HwgenError } from '../src/errors.js';
import { bundleForward } from '../src/golden/eie.js';
import { configForBundle, type EieConfig } from '../src/engines/eie/config.js';
import { renderEie } from '../src/engines/eie/rtl.js';
import type { Bundle } from '../src/model/types.js';
import { STATS_FIELDS } from '../src/protocol/command-set.js';
import { eieStatsCommand, inputCommands, loadCommands, readCommands } from '../src/engines/eie/image.js';
import { joinData, runCommand, splitResponses, type Command } from '../src/protocol/command-words.js';
import { goldenVerdict, type GoldenVerdict } from '../src/golden/verdict.js';
import { buildModel, runStream } from '../sim/verilator.js';

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
  golden: GoldenVerdict;
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

  const reads = readCommands(outLen, config);
  const stats = eieStatsCommand(config);
  const cmds: Command[] = [...loadCommands(bundle, config), stats];
  const loadStatsAt = cmds.length - 1;
  const runAt: number[] = [];
  for (const x of inputs) {
    if (x.length !== bundle.layers[0].cols) {
      throw new HwgenError(`input ${runAt.length} has ${x.length} values; the first layer takes ${bundle.layers[0].cols}`);
    }
    cmds.push(...inputCommands(x, config));
    runAt.push(cmds.length);
    cmds.push(runCommand(layers), ...reads, stats);
  }
  const run = runStream(model.binary, new Uint32Array(cmds.flatMap((c) => c.words)), opts.trace ? ['--trace', opts.trace] : []);
  const parts = splitResponses(cmds, run.words, 'simulation');
  // The answers of inference n: RUN at runAt[n], then the reads, then STATS.
  const outputs = runAt.map((at) => Int32Array.from(joinData(parts.slice(at + 1, at + 1 + reads.length)), (w) => w | 0));
  const statsOf = runAt.map((at) => parts[at + 1 + reads.length]);
  const field = (f: (typeof STATS_FIELDS)[number]) => STATS_FIELDS.indexOf(f);
  return {
    config,
    outputs,
    cycles: runAt.map((at) => parts[at][0]),
    loadCycles: parts[loadStatsAt][field('cyclesSinceReset')],
    layerCycles: statsOf.map((st) => Array.from(st.subarray(STATS_FIELDS.length, STATS_FIELDS.length + layers))),
    broadcasts: statsOf.map((st) => st[field('broadcasts')]),
    stalls: statsOf.map((st) => st[field('broadcastStalls')]),
    golden: goldenVerdict(outputs, (n) => bundleForward(bundle, inputs[n])[layers - 1]),
    build: { cached: model.cached, seconds: model.buildSeconds },
    cyclesPerSecond: run.cycles / run.seconds,
  };
}

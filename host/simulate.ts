import { HwgenError } from '../src/errors.js';
import type { AnyEngine, BuildOptions } from '../src/engines/engine.js';
import { engineFor } from '../src/engines/registry.js';
import { noSaturations, type Saturations } from '../src/golden/saturation.js';
import { goldenVerdict, type GoldenVerdict } from '../src/golden/verdict.js';
import type { AnyBundle } from '../src/model/types.js';
import { joinData, runCommand, splitResponses, statsCommand, type Command } from '../src/protocol/command-words.js';
import { buildModel, runStream } from '../sim/verilator.js';

export interface SimOptions extends BuildOptions {
  /** Write an FST waveform here. */
  trace?: string;
}

export interface SimResult {
  engine: AnyEngine;
  /** The bundle as the build stores it, and the build. */
  bundle: AnyBundle;
  config: object;
  outputs: Int32Array[];
  /** Compute cycles of each inference (RUN to done). */
  cycles: number[];
  /** Cycles from reset to the end of loading the bundle. */
  loadCycles: number;
  /** Per inference and layer: compute cycles. */
  layerCycles: number[][];
  /** Per inference, the engine's own STATS counters (EIE: broadcasts, broadcastStalls; XNOR: folds). */
  counters: Record<string, number[]>;
  /** Whether every output equals the golden model's, and the first mismatch if not. */
  golden: GoldenVerdict;
  /** Per layer, where the golden model (and so the hardware) saturated over these inputs. */
  saturations: Saturations[];
  build: { cached: boolean; seconds: number };
  /** Simulated cycles per wall-clock second. */
  cyclesPerSecond: number;
  /** Simulated cycles per second of the model's own CPU time: its speed on a busy machine. */
  cyclesPerCpuSecond: number;
}

/**
 * Builds (or reuses) the Verilator model of the bundle's engine for the build the options choose
 * (Engine.plan), loads the bundle, runs every input and compares each output with the golden model.
 */
export function simulate(given: AnyBundle, inputs: Int32Array[], opts: SimOptions = {}): SimResult {
  const engine = engineFor(given);
  const { bundle, config } = engine.plan(given, opts);
  const model = buildModel({ files: engine.render(config), top: engine.top, trace: Boolean(opts.trace) });
  const layers = bundle.layers.length;
  const inLength = engine.input(bundle).length;

  const reads = engine.readCommands(bundle, config);
  const fields = engine.statsFields;
  const stats = statsCommand(fields.length + engine.layerSlots(config));
  const cmds: Command[] = [...engine.loadCommands(bundle, config), stats];
  const loadStatsAt = cmds.length - 1;
  const runAt: number[] = [];
  for (const x of inputs) {
    if (x.length !== inLength) throw new HwgenError(`input ${runAt.length} has ${x.length} values; the first layer takes ${inLength}`);
    cmds.push(...engine.inputCommands(bundle, x, config));
    runAt.push(cmds.length);
    cmds.push(runCommand(layers), ...reads, stats);
  }
  const run = runStream(model.binary, new Uint32Array(cmds.flatMap((c) => c.words)), opts.trace ? ['--trace', opts.trace] : []);
  const parts = splitResponses(cmds, run.words, 'simulation');
  // The answers of inference n: RUN at runAt[n], then the reads, then STATS.
  const outputs = runAt.map((at) => engine.decodeOutput(bundle, config, joinData(parts.slice(at + 1, at + 1 + reads.length))));
  const statsOf = runAt.map((at) => parts[at + 1 + reads.length]);
  const own = fields.filter((f) => f !== 'cyclesSinceReset' && f !== 'runCycles');
  const counters = Object.fromEntries(own.map((f) => [f, statsOf.map((st) => st[fields.indexOf(f)])]));
  const saturations = bundle.layers.map(noSaturations);
  const golden = goldenVerdict(outputs, (n) => engine.forward(bundle, inputs[n], saturations)[layers - 1]);
  return {
    engine,
    bundle,
    config,
    outputs,
    cycles: runAt.map((at) => parts[at][0]),
    loadCycles: parts[loadStatsAt][fields.indexOf('cyclesSinceReset')],
    layerCycles: statsOf.map((st) => Array.from(st.subarray(fields.length, fields.length + layers))),
    counters,
    golden,
    saturations,
    build: { cached: model.cached, seconds: model.buildSeconds },
    cyclesPerSecond: run.cycles / run.seconds,
    cyclesPerCpuSecond: run.cycles / run.cpuSeconds,
  };
}

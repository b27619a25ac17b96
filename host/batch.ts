import type { AnyEngine } from '../src/engines/engine.js';
import { HwgenError } from '../src/errors.js';
import { noSaturations, type Saturations } from '../src/golden/saturation.js';
import { goldenVerdict, type GoldenVerdict } from '../src/golden/verdict.js';
import type { AnyBundle } from '../src/model/types.js';
import type { Device } from './device.js';

export interface CheckedRunOptions {
  /** Read the engine's STATS after every inference (cycles per layer, the engine's counters): a round trip more each. */
  stats?: boolean;
  /** Called after each group of inferences. */
  onProgress?: (p: { done: number; total: number }) => void;
  signal?: AbortSignal;
}

export interface CheckedRun {
  outputs: Int32Array[];
  /** Compute cycles of each inference on the board (RUN to done). */
  cycles: number[];
  /** With `stats`: per inference and layer, compute cycles; otherwise empty. */
  layerCycles: number[][];
  /** With `stats`: per inference, the engine's own counters (EIE: broadcasts, broadcastStalls; XNOR: folds). */
  counters: Record<string, number[]>;
  /** Whether every output equals the golden model's, and the first mismatch if not. */
  golden: GoldenVerdict;
  /** Per layer, where the golden model (and so the hardware) saturated over these inputs. */
  saturations: Saturations[];
  seconds: number;
}

/** Inferences per runBatch call: progress shows between groups. */
const GROUP = 32;

/**
 * The bundle as the board stores it, with its engine: what Device.load sent (it plans the same way), so the
 * golden model computes what the board computes. Call after load.
 */
export async function boardBundle(dev: Device, given: AnyBundle): Promise<{ engine: AnyEngine; bundle: AnyBundle; config: object }> {
  const info = await dev.info();
  const { bundle, config } = info.engineModule.plan(given, { config: info.engineConfig });
  return { engine: info.engineModule, bundle, config };
}

/**
 * Runs inputs (the engine's integers) on a loaded board, in batches that keep the link busy, and compares every
 * output with the golden model of the bundle as the board stores it (`boardBundle`).
 */
export async function runChecked(dev: Device, engine: AnyEngine, bundle: AnyBundle, inputs: Int32Array[], opts: CheckedRunOptions = {}): Promise<CheckedRun> {
  const t0 = performance.now();
  const outputs: Int32Array[] = [];
  const cycles: number[] = [];
  const layerCycles: number[][] = [];
  const own = engine.statsFields.filter((f) => f !== 'cyclesSinceReset' && f !== 'runCycles');
  const counters: Record<string, number[]> = opts.stats ? Object.fromEntries(own.map((f) => [f, []])) : {};
  const layers = bundle.layers.length;
  for (let at = 0; at < inputs.length; ) {
    if (opts.signal?.aborted) throw new HwgenError(`stopped after ${at} of ${inputs.length} inference(s)`, 130);
    if (opts.stats) {
      const r = await dev.run(inputs[at++]);
      const st = await dev.stats();
      outputs.push(r.output);
      cycles.push(r.cycles);
      layerCycles.push(st.layerCycles.slice(0, layers));
      for (const f of own) counters[f].push(st.counters[f]);
    } else {
      const group = inputs.slice(at, at + GROUP);
      at += group.length;
      for (const r of await dev.runBatch(group)) {
        outputs.push(r.output);
        cycles.push(r.cycles);
      }
    }
    opts.onProgress?.({ done: at, total: inputs.length });
  }
  const saturations = bundle.layers.map(noSaturations);
  const golden = goldenVerdict(outputs, (n) => engine.forward(bundle, inputs[n], saturations)[layers - 1]);
  return { outputs, cycles, layerCycles, counters, golden, saturations, seconds: (performance.now() - t0) / 1000 };
}

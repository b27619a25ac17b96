import { dirname } from 'node:path';
import type { AnyEngine, BuildOptions } from '../src/engines/engine.js';
import { engineFor } from '../src/engines/registry.js';
import type { AnyBundle } from '../src/model/types.js';
import type { ShellConfig } from '../src/shell/config.js';
import { simModel } from '../src/targets/sim.js';
import { boardBundle, runChecked, type CheckedRun } from './batch.js';
import { Device } from './device.js';
import type { LinkStats } from './link.js';
import { linkDefaults } from './open.js';
import { openSim } from './transports/sim.js';

export interface SimDevice {
  /** `sim:DIR` of the cached model: open it with openDevice. */
  url: string;
  /** The folder that holds the `model` executable. */
  dir: string;
  engine: AnyEngine;
  /** The bundle as the build stores it, and the build (Engine.plan). */
  bundle: AnyBundle;
  config: object;
  build: { cached: boolean; seconds: number };
}

/**
 * The board `hwgen sim` drives: the sim target's model of the shell and engine for the build the options
 * choose, built into (or taken from) the model cache instead of an output folder. The driver then talks to it
 * exactly as to a board, so `hwgen sim` and `hwgen run --device sim:DIR` are one path.
 */
export function simDevice(given: AnyBundle, opts: BuildOptions & { shell?: Partial<ShellConfig>; trace?: boolean } = {}): SimDevice {
  const engine = engineFor(given);
  const { shell, trace, ...build } = opts;
  const { bundle, config: planned } = engine.plan(given, build);
  const model = simModel(engine, planned, shell, trace);
  const dir = dirname(model.binary);
  return { url: `sim:${dir}`, dir, engine, bundle, config: planned, build: { cached: model.cached, seconds: model.buildSeconds } };
}

export interface DeviceSimOptions extends BuildOptions {
  /** Write an FST waveform of the whole session here. */
  trace?: string;
  shell?: Partial<ShellConfig>;
}

export interface DeviceSimResult extends CheckedRun {
  engine: AnyEngine;
  /** The bundle as the build stores it, and the build. */
  bundle: AnyBundle;
  config: object;
  /** Cycles from reset to the end of loading (the link's bytes included: the shell takes at most one per clock). */
  loadCycles: number;
  build: { cached: boolean; seconds: number };
  /** Simulated cycles per wall-clock second, over the whole session. */
  cyclesPerSecond: number;
  link: LinkStats;
}

/**
 * `hwgen sim`: the model of shell and engine for the bundle (simDevice), driven by the host driver as a board
 * is: load, run every input with the engine's STATS read after each (cycles per layer), and every output
 * compared with the golden model.
 */
export async function simulateOnDevice(given: AnyBundle, inputs: Int32Array[], opts: DeviceSimOptions = {}): Promise<DeviceSimResult> {
  const sim = simDevice(given, { ...opts, trace: opts.trace !== undefined });
  const t0 = performance.now();
  const dev = Device.over(await openSim(sim.dir, opts.trace !== undefined ? ['--trace', opts.trace] : []), linkDefaults(sim.url));
  try {
    await dev.load(given);
    const loadCycles = (await dev.stats()).counters.cyclesSinceReset;
    const { engine, bundle } = await boardBundle(dev, given);
    const run = await runChecked(dev, engine, bundle, inputs, { stats: true });
    const total = (await dev.stats()).counters.cyclesSinceReset;
    const seconds = (performance.now() - t0) / 1000;
    return { ...run, engine, bundle, config: sim.config, loadCycles, build: sim.build, cyclesPerSecond: total / seconds, link: { ...dev.linkStats } };
  } finally {
    await dev.close();
  }
}

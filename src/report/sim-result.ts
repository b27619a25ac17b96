import { readFileChecked } from '../atomic.js';
import { reencodeForPes } from '../compress/reencode.js';
import { HwgenError } from '../errors.js';
import { bundleForward, quantizeInput } from '../golden/eie.js';
import { toFloat64 } from '../model/ndarray.js';
import { parseNpy } from '../model/npy.js';
import { engineFor } from '../engines/registry.js';
import type { AnyBundle, Bundle, EieLayer, EngineName } from '../model/types.js';

/**
 * What the report takes from a simulation: the JSON `hwgen sim --json` prints. Only these fields are read:
 * `engine` ("EIE" or "XNOR"), `configHash`, `config.pes` (EIE), `inferences`, `cyclesPerInference`
 * (one number per inference) and `layerCycles` (per inference, one number per layer).
 */
export interface SimResult {
  engine: 'EIE' | 'XNOR';
  configHash: string;
  pes?: number;
  inferences: number;
  cyclesPerInference: number[];
  layerCycles: number[][];
}

export interface SimLayer {
  name: string;
  /** Mean compute cycles over the inferences. */
  cycles: number;
  /** EIE with the inputs: the busiest PE's entries, mean over inferences (the cycles of a perfect balance). */
  idealCycles?: number;
  /** EIE with the inputs: entries of the non-zero columns / (PEs × cycles), over all inferences. */
  efficiency?: number;
}

export interface SimFigures {
  engine: 'EIE' | 'XNOR';
  configHash: string;
  pes?: number;
  inferences: number;
  meanCycles: number;
  layers: SimLayer[];
  /** EIE with the inputs: the same ratio over every layer. */
  efficiency?: number;
}

const SHAPE_HINT = "give the JSON that 'hwgen sim <bundle> --input x.npy --json' prints";

/** Reads and checks a sim result file. */
export function readSimResult(path: string): SimResult {
  const text = new TextDecoder().decode(readFileChecked(path, 'simulation result'));
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new HwgenError(`${path}: not JSON (${(e as Error).message}); ${SHAPE_HINT}`);
  }
  return checkSimResult(j, path);
}

export function checkSimResult(j: unknown, where: string): SimResult {
  const bad = (what: string): never => {
    throw new HwgenError(`${where}: ${what}; ${SHAPE_HINT}`);
  };
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return bad('not a JSON object');
  const o = j as Record<string, unknown>;
  if (o.engine !== 'EIE' && o.engine !== 'XNOR') bad(`"engine" is ${JSON.stringify(o.engine)}, not "EIE" or "XNOR"`);
  const count = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (!count(o.inferences) || (o.inferences as number) < 1) bad('"inferences" is not a positive integer');
  const n = o.inferences as number;
  const perInference = Array.isArray(o.cyclesPerInference) && o.cyclesPerInference.length === n && o.cyclesPerInference.every(count);
  if (!perInference) bad(`"cyclesPerInference" is not ${n} cycle counts (one per inference)`);
  const layerCycles = o.layerCycles;
  const layersOk =
    Array.isArray(layerCycles) && layerCycles.length === n && layerCycles.every((r) => Array.isArray(r) && r.length === (layerCycles[0] as unknown[]).length && r.every(count));
  if (!layersOk) bad(`"layerCycles" is not ${n} lists (one per inference) of cycle counts per layer`);
  const config = o.config as Record<string, unknown> | undefined;
  const pes = config?.pes;
  if (o.engine === 'EIE' && (!count(pes) || (pes as number) < 1)) bad('"config.pes" is not a positive integer');
  return {
    engine: o.engine as 'EIE' | 'XNOR',
    configHash: typeof o.configHash === 'string' ? o.configHash : '',
    pes: o.engine === 'EIE' ? (pes as number) : undefined,
    inferences: n,
    cyclesPerInference: o.cyclesPerInference as number[],
    layerCycles: layerCycles as number[][],
  };
}

/** Cycles per layer, and with the inputs the simulation ran, EIE's load-balance efficiency. */
export function simFigures(sim: SimResult, bundle: AnyBundle, simPath: string, inputs?: { path: string; rows: Float64Array[] }): SimFigures {
  const engine = engineFor(bundle).title;
  if (sim.engine !== engine) throw new HwgenError(`${simPath}: a simulation of the ${sim.engine} engine, but the bundle is for ${engine}; give the result of this bundle`);
  const layers = bundle.layers.length;
  if (sim.layerCycles[0].length !== layers) {
    throw new HwgenError(`${simPath}: cycles for ${sim.layerCycles[0].length} layer(s), but the bundle has ${layers}; give the result of this bundle`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out: SimFigures = {
    engine,
    configHash: sim.configHash,
    pes: sim.pes,
    inferences: sim.inferences,
    meanCycles: mean(sim.cyclesPerInference),
    layers: bundle.layers.map((l, i) => ({ name: l.name, cycles: mean(sim.layerCycles.map((c) => c[i])) })),
  };
  if (inputs) efficiencyOf(bundle)?.(out, sim, bundle, inputs);
  return out;
}

/** How a bundle's engine measures its load-balance efficiency from the inputs a simulation ran, if it has one. */
const EFFICIENCY: Partial<Record<EngineName, typeof addEfficiency>> = { eie: addEfficiency };
export function efficiencyOf(bundle: AnyBundle): ((out: SimFigures, sim: SimResult, bundle: AnyBundle, inputs: { path: string; rows: Float64Array[] }) => void) | undefined {
  return EFFICIENCY[bundle.engine] as ((out: SimFigures, sim: SimResult, bundle: AnyBundle, inputs: { path: string; rows: Float64Array[] }) => void) | undefined;
}

/** The work each PE had, from the golden model's activations: entries of the columns whose input is non-zero. */
function addEfficiency(out: SimFigures, sim: SimResult, bundle: Bundle, inputs: { path: string; rows: Float64Array[] }): void {
  if (inputs.rows.length !== sim.inferences) {
    throw new HwgenError(`${inputs.path}: ${inputs.rows.length} input(s), but the simulation ran ${sim.inferences}; give the --input file the simulation ran`);
  }
  const pes = sim.pes ?? bundle.sparse.pes;
  const b = reencodeForPes(bundle, pes);
  const work = b.layers.map(() => 0);
  const busiest = b.layers.map(() => 0);
  for (const row of inputs.rows) {
    const x = quantizeInput(row, b.numeric);
    const acts = [x, ...bundleForward(b, x)];
    b.layers.forEach((l, i) => {
      const per = peWork(l, acts[i]);
      work[i] += per.reduce((a, c) => a + c, 0);
      busiest[i] += Math.max(...per);
    });
  }
  let allWork = 0;
  let allCycles = 0;
  out.layers.forEach((l, i) => {
    const cycles = sim.layerCycles.reduce((s, c) => s + c[i], 0);
    l.idealCycles = busiest[i] / sim.inferences;
    l.efficiency = cycles ? work[i] / (pes * cycles) : 0;
    allWork += work[i];
    allCycles += cycles;
  });
  out.efficiency = allCycles ? allWork / (pes * allCycles) : 0;
}

function peWork(layer: EieLayer, x: Int32Array): number[] {
  return layer.slices.map((s) => {
    let n = 0;
    for (let j = 0; j < layer.cols; j++) if (x[j] !== 0) n += s.ptr[j + 1] - s.ptr[j];
    return n;
  });
}

/** The simulation's inputs (.npy, one vector or a batch of rows) for the first layer's `cols` inputs. */
export function readSimInputs(path: string, cols: number): Float64Array[] {
  const a = parseNpy(readFileChecked(path, 'input'), path);
  if (a.shape.length < 1 || a.shape.length > 2 || a.shape[a.shape.length - 1] !== cols) {
    throw new HwgenError(`${path}: inputs have shape (${a.shape.join(', ')}); the first layer takes (${cols}) or (n, ${cols})`);
  }
  const v = toFloat64(a);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new HwgenError(`${path}: input value ${v[bad]} at flat index ${bad}; inputs must be finite`);
  const rows = a.shape.length === 1 ? 1 : a.shape[0];
  return Array.from({ length: rows }, (_, r) => v.subarray(r * cols, (r + 1) * cols));
}

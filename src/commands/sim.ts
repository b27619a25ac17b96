import { readFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { readFileChecked, writeFileAtomic } from '../atomic.js';
import { reencodeForPes } from '../compress/reencode.js';
import { HwgenError } from '../errors.js';
import { checkBundleFits, configForBundle, configHash, validateConfig, type EieConfig } from '../gen/eie-config.js';
import { quantizeInput } from '../golden/eie.js';
import { readBundle } from '../model/bundle.js';
import { checkRange } from '../model/limits.js';
import { toFloat64, type NdArray } from '../model/ndarray.js';
import { encodeNpy, parseNpy } from '../model/npy.js';
import type { Bundle } from '../model/types.js';
import { simulateEie, type SimResult } from '../../sim/eie-sim.js';

interface Args {
  bundle: string;
  input: string;
  output?: string;
  pes?: number;
  config?: string;
  fifoDepth: number;
  raw: boolean;
  trace?: string;
  json: boolean;
}

export const simCommand: CommandModule<object, Args> = {
  command: 'sim <bundle>',
  describe: 'Build (or reuse) the Verilator model of the EIE engine, run inputs through it and check it against the golden model',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to run (.hwb)' })
      .option('input', { type: 'string', demandOption: true, describe: 'inputs as .npy: one vector [in] or a batch [n, in] of real values' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the outputs as .npy ([n, out] float32 real values, or int32 with --raw)' })
      .option('pes', { type: 'number', describe: 'build with N PEs (the bundle is re-interleaved for N) [default: the bundle\'s]' })
      .option('config', { type: 'string', describe: 'build from this EIE config (JSON); see docs/eie.md' })
      .conflicts('pes', 'config')
      .option('fifo-depth', { type: 'number', default: 8, describe: 'activation queue depth per PE (without --config)' })
      .option('raw', { type: 'boolean', default: false, describe: 'write the activation integers instead of real values' })
      .option('trace', { type: 'string', describe: 'write an FST waveform of the whole run here' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    let bundle = readBundle(argv.bundle);
    if (argv.pes !== undefined) {
      checkRange('pes', argv.pes, '--pes');
      bundle = reencodeForPes(bundle, argv.pes);
    }
    const config = argv.config ? loadConfig(argv.config) : configForBundle(bundle, { fifoDepth: argv.fifoDepth });
    bundle = reencodeForPes(bundle, config.pes);
    checkBundleFits(bundle, config, argv.config ?? 'derived config');
    const xs = readInputs(argv.input, bundle);
    const res = simulateEie(bundle, xs, { config, trace: argv.trace });
    if (argv.output) writeFileAtomic(argv.output, encodeNpy(outputArray(res, bundle, argv.raw)), 'output');
    if (argv.json) process.stdout.write(JSON.stringify(reportJson(res, bundle), null, 2) + '\n');
    else process.stdout.write(reportText(res, bundle, argv.output));
    if (!res.golden.match) {
      const m = res.golden.firstMismatch!;
      throw new HwgenError(`the RTL disagrees with the golden model: input ${m.input}, output ${m.index}: RTL ${m.rtl}, golden ${m.golden}`);
    }
  },
};

function loadConfig(path: string): EieConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new HwgenError(`${path}: cannot read the config as JSON (${(e as Error).message})`);
  }
  return validateConfig(raw, path);
}

/** Inputs as activation integers: a .npy vector or a batch of rows, real values quantized to the activation format. */
function readInputs(path: string, bundle: Bundle): Int32Array[] {
  const a = parseNpy(readFileChecked(path, 'input'), path);
  const cols = bundle.layers[0].cols;
  const rows = a.shape.length === 1 ? 1 : a.shape[0];
  if (a.shape.length < 1 || a.shape.length > 2 || a.shape[a.shape.length - 1] !== cols) {
    throw new HwgenError(`${path}: inputs have shape (${a.shape.join(', ')}); the first layer takes (${cols}) or (n, ${cols})`);
  }
  if (a.dtype === 'b1') throw new HwgenError(`${path}: inputs are bool; give real values (float or int)`);
  const v = toFloat64(a);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new HwgenError(`${path}: input value ${v[bad]} at flat index ${bad}; inputs must be finite`);
  return Array.from({ length: rows }, (_, r) => quantizeInput(v.subarray(r * cols, (r + 1) * cols), bundle.numeric));
}

function outputArray(res: SimResult, bundle: Bundle, raw: boolean): NdArray {
  const n = res.outputs.length;
  const m = bundle.layers[bundle.layers.length - 1].rows;
  const flat = new Int32Array(n * m);
  res.outputs.forEach((y, i) => flat.set(y, i * m));
  if (raw) return { dtype: 'i4', shape: [n, m], data: flat };
  return { dtype: 'f4', shape: [n, m], data: Float32Array.from(flat, (q) => q / 2 ** bundle.numeric.actFrac) };
}

function reportJson(res: SimResult, bundle: Bundle) {
  return {
    configHash: configHash(res.config),
    config: res.config,
    inferences: res.outputs.length,
    cyclesPerInference: res.cycles,
    layerCycles: res.layerCycles,
    loadCycles: res.loadCycles,
    broadcasts: res.broadcasts,
    broadcastStalls: res.stalls,
    golden: res.golden,
    build: res.build,
    simCyclesPerSecond: Math.round(res.cyclesPerSecond),
    layers: bundle.layers.map((l) => ({ name: l.name, rows: l.rows, cols: l.cols })),
  };
}

function reportText(res: SimResult, bundle: Bundle, output?: string): string {
  const mean = res.cycles.reduce((a, b) => a + b, 0) / Math.max(1, res.cycles.length);
  const lines = [
    `EIE engine ${configHash(res.config)}: ${res.config.pes} PEs, queue depth ${res.config.fifoDepth}, ` +
      `${res.build.cached ? 'cached model' : `built in ${res.build.seconds.toFixed(1)} s`}`,
    `loaded ${bundle.layers.length} layer(s) in ${res.loadCycles} cycles`,
    `${res.outputs.length} inference(s): ${mean.toFixed(1)} cycles each on average` +
      ` (per layer, first input: ${res.layerCycles[0]?.join(', ') ?? '-'})`,
    `golden model: ${res.golden.match ? 'bit-exact match' : 'MISMATCH'}`,
  ];
  if (output) lines.push(`wrote ${output}`);
  return lines.join('\n') + '\n';
}

import { readFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkOutputs, readFileChecked, writeFileAtomic } from '../atomic.js';
import { reencodeForPes } from '../compress/reencode.js';
import { HwgenError } from '../errors.js';
import { checkBundleFits, configForBundle, configHash, validateConfig, type EieConfig } from '../engines/eie/config.js';
import { checkXnorFits, validateXnorConfig, xnorConfigForBundle, xnorConfigHash, type XnorConfig } from '../engines/xnor/config.js';
import { quantizeInput } from '../golden/eie.js';
import { layerInputs } from '../model/layout.js';
import { readAnyBundle } from '../model/bundle.js';
import { checkRange } from '../model/limits.js';
import { toFloat64, type NdArray } from '../model/ndarray.js';
import { encodeNpy, parseNpy } from '../model/npy.js';
import { isBinaryBundle, type BinaryBundle, type Bundle, type ConvShape, type NumericFormat } from '../model/types.js';
import { simulateEie } from '../../host/simulate-eie.js';
import { simulateXnor } from '../../host/simulate-xnor.js';
import type { ModeRule } from './options.js';

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

/** What both engines' simulations report, for the text and JSON reports. */
interface Outcome {
  engine: string;
  configHash: string;
  config: EieConfig | XnorConfig;
  outputs: Int32Array[];
  cyclesPerInference: number[];
  layerCycles: number[][];
  loadCycles?: number;
  golden: { match: boolean; firstMismatch?: { input: number; index: number; rtl: number; golden: number } };
  build: { cached: boolean; seconds: number };
  extra: Record<string, unknown>;
  /** Outputs are fixed-point activations (else bits). */
  scores: boolean;
}

/** Options that do nothing in the mode given (src/cli.ts refuses them). */
export const simModeRules: ModeRule[] = [
  { option: 'fifo-depth', applies: (a) => a.config === undefined, why: "with --config: the config's fifoDepth sets the queue depth" },
];

export const simCommand: CommandModule<object, Args> = {
  command: 'sim <bundle>',
  describe: 'Build (or reuse) the Verilator model of the engine a bundle runs on (EIE, or XNOR for --binary bundles), run inputs through it and check it against the golden model',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to run (.hwb)' })
      .option('input', { type: 'string', demandOption: true, describe: 'inputs as .npy: one vector [in] or a batch [n, in] of real values (binary inputs: the sign)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the outputs as .npy ([n, out] float32 real values or ±1 bits, or int32 with --raw)' })
      .option('pes', { type: 'number', describe: "EIE: build with N PEs (the bundle is re-interleaved for N) [default: the bundle's]" })
      .option('config', { type: 'string', describe: 'build from this engine config (JSON); see docs/eie.md or docs/xnor.md' })
      .conflicts('pes', 'config')
      .option('fifo-depth', { type: 'number', default: 8, describe: 'EIE: activation queue depth per PE (without --config)' })
      .option('raw', { type: 'boolean', default: false, describe: 'write the activation integers (or 0/1 bits) instead of real values' })
      .option('trace', { type: 'string', describe: 'write an FST waveform of the whole run here' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    checkOutputs([{ path: argv.output, flag: '-o' }, { path: argv.trace, flag: '--trace' }], [{ path: argv.bundle, flag: 'the bundle' }, { path: argv.input, flag: '--input' }, { path: argv.config, flag: '--config' }]);
    const any = readAnyBundle(argv.bundle);
    const o = isBinaryBundle(any) ? simBinary(any, argv) : simEie(any, argv);
    if (argv.output !== undefined) writeFileAtomic(argv.output, encodeNpy(outputArray(o, argv.raw, any.numeric)), 'output');
    if (argv.json) {
      const { outputs: _, scores: __, extra, ...rest } = o;
      process.stdout.write(JSON.stringify({ ...rest, ...extra, inferences: o.outputs.length }, null, 2) + '\n');
    } else {
      process.stdout.write(reportText(o, any.layers.length, argv.output));
    }
    if (!o.golden.match) {
      const m = o.golden.firstMismatch!;
      throw new HwgenError(`the RTL disagrees with the golden model: input ${m.input}, output ${m.index}: RTL ${m.rtl}, golden ${m.golden}`);
    }
  },
};

function simEie(bundle: Bundle, argv: Args): Outcome {
  if (argv.pes !== undefined) {
    checkRange('pes', argv.pes, '--pes');
    bundle = reencodeForPes(bundle, argv.pes);
  }
  const config = argv.config ? validateConfig(readJson(argv.config), argv.config) : configForBundle(bundle, { fifoDepth: argv.fifoDepth });
  bundle = reencodeForPes(bundle, config.pes);
  checkBundleFits(bundle, config, argv.config ?? 'derived config');
  const xs = readInputs(argv.input, bundle.layers[0].cols).map((v) => quantizeInput(v, bundle.numeric));
  const res = simulateEie(bundle, xs, { config, trace: argv.trace });
  return {
    engine: 'EIE', configHash: configHash(config), config, outputs: res.outputs, cyclesPerInference: res.cycles, layerCycles: res.layerCycles,
    loadCycles: res.loadCycles, golden: res.golden, build: res.build, scores: true,
    extra: { broadcasts: res.broadcasts, broadcastStalls: res.stalls, simCyclesPerSecond: Math.round(res.cyclesPerSecond) },
  };
}

function simBinary(bundle: BinaryBundle, argv: Args): Outcome {
  if (argv.pes !== undefined) throw new HwgenError('--pes applies to EIE bundles; this bundle is binary: give the XNOR build with --config (docs/xnor.md)', 2);
  const config = argv.config ? validateXnorConfig(readJson(argv.config), argv.config) : xnorConfigForBundle(bundle);
  checkXnorFits(bundle, config, argv.config ?? 'derived config');
  const first = bundle.layers[0];
  const xs = readInputs(argv.input, layerInputs(first), first.conv).map((v) =>
    first.input === 'fixed' ? quantizeInput(v, bundle.numeric) : Int32Array.from(v, (x) => (x >= 0 ? 1 : 0)),
  );
  const res = simulateXnor(bundle, xs, { config, trace: argv.trace });
  const last = bundle.layers[bundle.layers.length - 1];
  return {
    engine: 'XNOR', configHash: xnorConfigHash(config), config, outputs: res.outputs, cyclesPerInference: res.cycles, layerCycles: res.layerCycles,
    golden: res.golden, build: res.build, scores: last.output === 'scores', extra: { folds: res.folds },
  };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new HwgenError(`${path}: cannot read the config as JSON (${(e as Error).message})`);
  }
}

/**
 * Input rows as real values from a .npy vector or batch. For a convolution first, images come as frameworks
 * keep them, [C, H, W] or [n, C, H, W] (or rows of C·H·W in that order), and are reordered channel-fastest.
 */
function readInputs(path: string, cols: number, conv?: ConvShape): Float64Array[] {
  const a = parseNpy(readFileChecked(path, 'input'), path);
  const image = conv ? [conv.inChannels, conv.inHeight, conv.inWidth] : undefined;
  const isImages = image && (a.shape.length === 3 || a.shape.length === 4) && a.shape.slice(-3).join() === image.join();
  const rows = a.shape.length === 1 || (isImages && a.shape.length === 3) ? 1 : a.shape[0];
  if (!isImages && (a.shape.length < 1 || a.shape.length > 2 || a.shape[a.shape.length - 1] !== cols)) {
    const images = image ? `, (${image.join(', ')}) or (n, ${image.join(', ')})` : '';
    throw new HwgenError(`${path}: inputs have shape (${a.shape.join(', ')}); the first layer takes (${cols}) or (n, ${cols})${images}`);
  }
  if (a.dtype === 'b1') throw new HwgenError(`${path}: inputs are bool; give real values (float or int)`);
  const v = toFloat64(a);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new HwgenError(`${path}: input value ${v[bad]} at flat index ${bad}; inputs must be finite`);
  const flat = Array.from({ length: rows }, (_, r) => v.subarray(r * cols, (r + 1) * cols));
  return conv ? flat.map((x) => channelFastest(x, conv)) : flat;
}

/** A [C, H, W] image, flattened, to the hardware's (y, x, c) order. */
function channelFastest(x: Float64Array, c: ConvShape): Float64Array {
  const out = new Float64Array(x.length);
  const [C, H, W] = [c.inChannels, c.inHeight, c.inWidth];
  for (let ch = 0; ch < C; ch++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) out[(y * W + xx) * C + ch] = x[(ch * H + y) * W + xx];
  return out;
}

function outputArray(o: Outcome, raw: boolean, numeric: NumericFormat): NdArray {
  const n = o.outputs.length;
  const m = o.outputs[0]?.length ?? 0;
  const flat = new Int32Array(n * m);
  o.outputs.forEach((y, i) => flat.set(y, i * m));
  if (raw) return { dtype: 'i4', shape: [n, m], data: flat };
  const real = (q: number) => (o.scores ? q / 2 ** numeric.actFrac : q ? 1 : -1);
  return { dtype: 'f4', shape: [n, m], data: Float32Array.from(flat, real) };
}

function reportText(o: Outcome, layers: number, output?: string): string {
  const mean = o.cyclesPerInference.reduce((a, b) => a + b, 0) / Math.max(1, o.cyclesPerInference.length);
  const c = o.config as Partial<EieConfig & XnorConfig>;
  const shape = o.engine === 'EIE' ? `${c.pes} PEs, queue depth ${c.fifoDepth}` : `${c.pe} rows x ${c.simd} lanes`;
  const lines = [
    `${o.engine} engine ${o.configHash}: ${shape}, ${o.build.cached ? 'cached model' : `built in ${o.build.seconds.toFixed(1)} s`}`,
    o.loadCycles !== undefined ? `loaded ${layers} layer(s) in ${o.loadCycles} cycles` : `loaded ${layers} layer(s)`,
    `${o.outputs.length} inference(s): ${mean.toFixed(1)} cycles each on average` +
      ` (per layer, first input: ${o.layerCycles[0]?.join(', ') ?? '-'})`,
    `golden model: ${o.golden.match ? 'bit-exact match' : 'MISMATCH'}`,
  ];
  if (output) lines.push(`wrote ${output}`);
  return lines.join('\n') + '\n';
}

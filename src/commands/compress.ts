import { extname } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { binarizeModel, binaryReport, formatBinaryReport } from '../compress/binarize.js';
import { compressModel, emptyLayer, type CompressOptions } from '../compress/compress.js';
import { measureBitFidelity, measureFidelity } from '../compress/fidelity.js';
import { saturationWarning, totalSaturations } from '../golden/saturation.js';
import { bundleReport, formatReport } from '../compress/report.js';
import { checkOutputs } from '../atomic.js';
import { HwgenError } from '../errors.js';
import { validateNetwork, writeBundle, writeNetwork } from '../model/bundle.js';
import { checkNumeric, checkRange, checkSparse } from '../model/limits.js';
import { DEFAULT_NUMERIC, DEFAULT_SPARSE, type BinaryBundle, type Bundle } from '../model/types.js';
import { loadWeights, WEIGHT_FORMATS, type ReluRule } from '../model/weights.js';
import { HWGEN_VERSION } from '../paths.js';
import { writeFileAtomic } from '../atomic.js';
import type { NetworkReportInput, ReportInput } from '../report/report.js';
import { compressHybrid } from '../compress/hybrid.js';
import { CONFIG_LIMITS } from '../engines/eie/config.js';
import { XNOR_CONFIG_LIMITS } from '../engines/xnor/config.js';
import { parsePerLayer, type ModeRule } from './options.js';

interface Args {
  weights: string;
  output: string;
  density?: string;
  quality?: string;
  bits: number;
  pes: number;
  vBits: number;
  zBits: number;
  actBits: number;
  actFrac: number;
  weightBits: number;
  accBits: number;
  relu: ReluRule;
  json: boolean;
  /** Absent: the EIE path; '' (or true): every layer binary; NAME,NAME: those layers binary, the rest EIE (a hybrid). */
  binary?: string | boolean;
  firstLayer: 'bwn' | 'binary';
  lastLayer: 'scores' | 'threshold';
  inputShape?: string;
  convPadding: 'valid' | 'same';
  report?: string;
}

export const compressCommand: CommandModule<object, Args> = {
  command: 'compress <weights>',
  describe: 'Prune, share weights (k-means), encode for N PEs and Huffman-code a network into a .hwb bundle (or binarize it, --binary)',
  builder: (y: Argv) =>
    y
      .positional('weights', { type: 'string', demandOption: true, describe: `weights file: ${WEIGHT_FORMATS}` })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the bundle to write (.hwb)' })
      .option('density', {
        type: 'string',
        describe: 'fraction of weights each layer keeps, in (0, 1]: one value, or NAME=D,NAME=D per layer [default: 1]',
      })
      .option('quality', {
        type: 'string',
        describe: "Han's rule: prune |w| <= Q x std(W); one value or NAME=Q,... per layer",
      })
      .conflicts('density', 'quality')
      .option('bits', { type: 'number', default: 4, describe: 'codebook index bits B: 2^B - 1 shared weights plus zero (2..8)' })
      .option('pes', { type: 'number', default: DEFAULT_SPARSE.pes, describe: 'processing elements the rows are interleaved over (1..64)' })
      .option('v-bits', { type: 'number', default: DEFAULT_SPARSE.vBits, describe: 'width of a stored codebook index v (>= B)' })
      .option('z-bits', { type: 'number', default: DEFAULT_SPARSE.zBits, describe: 'width of a relative row index z (1..8)' })
      .option('act-bits', { type: 'number', default: DEFAULT_NUMERIC.actBits, describe: 'activation width, signed' })
      .option('act-frac', { type: 'number', default: DEFAULT_NUMERIC.actFrac, describe: 'fractional bits of an activation' })
      .option('weight-bits', { type: 'number', default: DEFAULT_NUMERIC.weightBits, describe: 'codebook entry width, signed' })
      .option('acc-bits', { type: 'number', default: DEFAULT_NUMERIC.accBits, describe: 'accumulator width, signed, saturating' })
      .option('relu', {
        choices: ['hidden', 'all', 'none'] as const,
        default: 'hidden' as ReluRule,
        describe: 'which layers of an .npy/.npz get a ReLU (ONNX files say it themselves)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('report', { type: 'string', describe: 'also write the HTML report (hwgen report), with the float weights before sharing' })
      .option('binary', {
        type: 'string',
        describe:
          'XNOR-Net form for the XNOR units (sign weights, α per output, batch-norm + sign folded into thresholds; docs/xnor.md): every layer, ' +
          'or with NAME,NAME the first layers named, the rest for the EIE engine in one hybrid bundle (put it after the weights file)',
      })
      .option('first-layer', { choices: ['bwn', 'binary'] as const, default: 'bwn' as const, describe: "with --binary: the first layer's input: fixed-point (BWN) or bits" })
      .option('last-layer', { choices: ['scores', 'threshold'] as const, default: 'scores' as const, describe: "with --binary: the last layer's output: fixed-point scores (α kept) or bits" })
      .option('input-shape', { type: 'string', describe: 'with --binary: C,H,W of the input feature map, needed when the first layer is a convolution' })
      .option('conv-padding', { choices: ['same', 'valid'] as const, default: 'same' as const, describe: 'with --binary: padding of .npz convolutions (ONNX Conv nodes say it themselves)' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    checkOutputs(
      [{ path: argv.output, flag: '-o' }, ...(argv.report === undefined ? [] : [{ path: argv.report, flag: '--report' }])],
      [{ path: argv.weights, flag: 'the weights file' }],
    );
    const names = binaryNames(argv.binary);
    if (names === 'all') return compressBinary(argv);
    if (names) return compressHybridNetwork(argv, names);
    const opts = compressOptions(argv);
    const model = loadWeights(argv.weights, argv.relu);
    checkLayerCount(model.layers.length, CONFIG_LIMITS.maxLayers[1], 'the EIE engine', argv.weights);
    const { bundle, details } = compressModel(model, opts);
    model.layers.forEach((fl, i) => {
      const why = emptyLayer(fl, bundle.layers[i], details[i], opts);
      if (why) throw new HwgenError(`layer '${fl.name}': ${why}`, 2);
    });
    bundle.meta = { source: argv.weights, generator: `hwgen ${HWGEN_VERSION}`, pruning: pruningText(argv) };
    // Rendered before anything is written, so a failure leaves neither file; only this run has the float weights.
    const pruned = () => model.layers.map((fl, i) => Float32Array.from(details[i].kept, (k) => fl.weight[k]));
    const page = argv.report === undefined ? undefined : await renderPage({ bundle, bundleName: argv.output, pruned: pruned() });
    writeBundle(argv.output, bundle);
    writePage(argv.report, page);
    const report = bundleReport(bundle);
    const fidelity = measureFidelity(model, bundle);
    process.stderr.write(saturationWarning(fidelity.saturations, bundle.layers.map((l) => l.name), `on ${fidelity.samples} random check inputs`) ?? '');
    if (argv.json) {
      const layers = report.layers.map((l, i) => ({ ...l, weightMse: details[i].weightMse, kmeansIterations: details[i].iterations }));
      process.stdout.write(JSON.stringify({ output: argv.output, ...report, layers, fidelity }, null, 2) + '\n');
    } else {
      const f = fidelity;
      process.stdout.write(
        `${formatReport(report)}\n` +
          `against the float network on ${f.samples} random inputs: output error ${(f.relativeRms * 100).toFixed(2)}% RMS, ` +
          `same largest output ${Math.round(f.argmaxAgreement * f.samples)}/${f.samples}, fixed-point saturations ${totalSaturations(f.saturations)}\n` +
          `wrote ${argv.output}\n` +
          (argv.report === undefined ? '' : `wrote ${argv.report}\n`),
      );
    }
  },
};

function compressOptions(a: Args): CompressOptions {
  const opts: CompressOptions = {
    bits: a.bits,
    sparse: { pes: a.pes, vBits: a.vBits, zBits: a.zBits },
    numeric: { actBits: a.actBits, actFrac: a.actFrac, weightBits: a.weightBits, accBits: a.accBits },
  };
  checkRange('bits', a.bits, '--bits');
  checkSparse(opts.sparse, 'options');
  checkNumeric(opts.numeric, 'options');
  if (a.bits > a.vBits) throw new HwgenError(`--bits ${a.bits} does not fit --v-bits ${a.vBits}; raise --v-bits or lower --bits`, 2);
  if (a.density !== undefined) opts.density = parsePerLayer('density', a.density, (x) => x > 0 && x <= 1, 'a density in (0, 1]');
  if (a.quality !== undefined) opts.quality = parsePerLayer('quality', a.quality, (x) => x >= 0, 'a quality >= 0');
  return opts;
}

function pruningText(a: Args): string {
  if (a.quality !== undefined) return `quality ${a.quality}`;
  return `density ${a.density ?? 1}`;
}

/** Which layers --binary names: undefined without it, 'all' for every layer, else the names. */
function binaryNames(flag: string | boolean | undefined): string[] | 'all' | undefined {
  if (flag === undefined || flag === false) return undefined;
  if (flag === true || flag === '') return 'all';
  const names = flag.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new HwgenError(`--binary ${flag}: an empty layer name; give NAME,NAME (or --binary alone for every layer)`, 2);
  return names;
}

const notBinary = (a: Record<string, unknown>) => binaryNames(a.binary as string | undefined) !== 'all';
const onlyBinary = (a: Record<string, unknown>) => binaryNames(a.binary as string | undefined) !== undefined;
const notHybrid = (a: Record<string, unknown>) => !Array.isArray(binaryNames(a.binary as string | undefined));
const SPARSE_ONLY = "with --binary: every weight is kept as its sign, with no codebook and no PEs";

/** Options that do nothing in the mode given (src/cli.ts refuses them). */
export const compressModeRules: ModeRule[] = [
  ...['density', 'quality', 'bits', 'pes', 'v-bits', 'z-bits'].map((option) => ({ option, applies: notBinary, why: SPARSE_ONLY })),
  { option: 'relu', applies: notBinary, why: 'with --binary: hidden binary layers output the sign, the last one its scores' },
  {
    option: 'relu',
    applies: (a) => extname(String(a.weights)).toLowerCase() !== '.onnx',
    why: 'on an ONNX model: its Relu nodes say which layers have one',
  },
  ...['first-layer', 'last-layer', 'input-shape', 'conv-padding'].map((option) => ({ option, applies: onlyBinary, why: 'without --binary' })),
  { option: 'last-layer', applies: notHybrid, why: 'with --binary NAMES: the binary layers end with bits (thresholds), which the EIE layers take' },
];

/** `--binary`: every layer to XNOR form; the pruning and codebook options do not apply (compressModeRules). */
async function compressBinary(argv: Args): Promise<void> {
  const numeric = { actBits: argv.actBits, actFrac: argv.actFrac, weightBits: argv.weightBits, accBits: argv.accBits };
  checkNumeric(numeric, 'options');
  const model = loadWeights(argv.weights, 'none', { binary: true, inputShape: parseShape(argv.inputShape), convPadding: argv.convPadding });
  checkLayerCount(model.layers.length, XNOR_CONFIG_LIMITS.maxLayers[1], 'the XNOR units', argv.weights);
  const bundle = binarizeModel(model, {
    numeric,
    firstInput: argv.firstLayer === 'bwn' ? 'fixed' : 'binary',
    lastOutput: argv.lastLayer,
  });
  bundle.meta = { source: argv.weights, generator: `hwgen ${HWGEN_VERSION}`, binary: true };
  const page = argv.report === undefined ? undefined : await renderPage({ bundle, bundleName: argv.output });
  writeBundle(argv.output, bundle);
  writePage(argv.report, page);
  const report = binaryReport(bundle);
  if (argv.json) process.stdout.write(JSON.stringify({ output: argv.output, ...report }, null, 2) + '\n');
  else process.stdout.write(`${formatBinaryReport(report)}\nwrote ${argv.output}\n${argv.report === undefined ? '' : `wrote ${argv.report}\n`}`);
}

/**
 * `--binary NAME,NAME`: the named layers to XNOR form, the rest down the Deep Compression path, in one
 * hybrid bundle (src/compress/hybrid.ts folds the boundary into the first EIE layer).
 */
async function compressHybridNetwork(argv: Args, names: string[]): Promise<void> {
  const opts = compressOptions(argv);
  const model = loadWeights(argv.weights, argv.relu, { binary: true, inputShape: parseShape(argv.inputShape), convPadding: argv.convPadding });
  const { network, sparseModel, details } = compressHybrid(model, names, {
    binary: { numeric: opts.numeric, firstInput: argv.firstLayer === 'bwn' ? 'fixed' : 'binary' },
    sparse: opts,
  });
  const [xnor, eie] = network.segments as [BinaryBundle, Bundle];
  checkLayerCount(xnor.layers.length, XNOR_CONFIG_LIMITS.maxLayers[1], 'the XNOR units', argv.weights);
  checkLayerCount(eie.layers.length, CONFIG_LIMITS.maxLayers[1], 'the EIE engine', argv.weights);
  sparseModel.layers.forEach((fl, i) => {
    const why = emptyLayer(fl, eie.layers[i], details[i], opts);
    if (why) throw new HwgenError(`layer '${fl.name}': ${why}`, 2);
  });
  const generator = `hwgen ${HWGEN_VERSION}`;
  xnor.meta = { source: argv.weights, generator, binary: names.join(',') };
  eie.meta = { source: argv.weights, generator, pruning: pruningText(argv) };
  validateNetwork(network, argv.weights);
  const pruned = () => [undefined, sparseModel.layers.map((fl, i) => Float32Array.from(details[i].kept, (k) => fl.weight[k]))];
  const page = argv.report === undefined ? undefined : await renderNetworkPage({ network, bundleName: argv.output, pruned: pruned() });
  writeNetwork(argv.output, network);
  writePage(argv.report, page);
  const binary = binaryReport(xnor);
  const sparse = bundleReport(eie);
  const fidelity = measureBitFidelity(sparseModel, eie);
  process.stderr.write(saturationWarning(fidelity.saturations, eie.layers.map((l) => l.name), `on ${fidelity.samples} random bit maps`) ?? '');
  if (argv.json) {
    const layers = sparse.layers.map((l, i) => ({ ...l, weightMse: details[i].weightMse, kmeansIterations: details[i].iterations }));
    const segments = [{ engine: xnor.engine, ...binary }, { engine: eie.engine, ...sparse, layers, fidelity }];
    process.stdout.write(JSON.stringify({ output: argv.output, segments }, null, 2) + '\n');
  } else {
    const f = fidelity;
    process.stdout.write(
      `segment 0: ${formatBinaryReport(binary)}\n` +
        `segment 1: EIE engine, ${formatReport(sparse)}\n` +
        `EIE layers against their float layers on ${f.samples} random bit maps (±1): output error ${(f.relativeRms * 100).toFixed(2)}% RMS, ` +
        `same largest output ${Math.round(f.argmaxAgreement * f.samples)}/${f.samples}, fixed-point saturations ${totalSaturations(f.saturations)}\n` +
        `wrote ${argv.output}\n` +
        (argv.report === undefined ? '' : `wrote ${argv.report}\n`),
    );
  }
}

/** The --report page. Vega takes a second to load: only a run that draws loads it. */
async function renderPage(input: ReportInput): Promise<string> {
  const { renderReport } = await import('../report/report.js');
  return renderReport(input);
}

async function renderNetworkPage(input: NetworkReportInput): Promise<string> {
  const { renderNetworkReport } = await import('../report/report.js');
  return renderNetworkReport(input);
}

function writePage(path: string | undefined, page: string | undefined): void {
  if (path !== undefined && page !== undefined) writeFileAtomic(path, new TextEncoder().encode(page), 'report');
}

/** An engine's layer table has `max` entries (its config's maxLayers): say so now rather than at build time. */
function checkLayerCount(layers: number, max: number, engine: string, path: string): void {
  if (layers > max) {
    throw new HwgenError(`${path}: ${layers} layers; ${engine} hold${engine.endsWith('s') ? '' : 's'} at most ${max} (maxLayers); merge or split the network into parts of at most ${max} layers`);
  }
}

/** "C,H,W" as three positive integers. */
function parseShape(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const dims = text.split(',').map((d) => Number(d.trim()));
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new HwgenError(`--input-shape ${text}: give three positive integers C,H,W (channels, height, width), e.g. 1,28,28`, 2);
  }
  return dims;
}

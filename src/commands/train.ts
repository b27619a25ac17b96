import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkOutputs } from '../atomic.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { writeBundle } from '../model/bundle.js';
import { checkNumeric, checkRange, checkSparse } from '../model/limits.js';
import { DEFAULT_NUMERIC } from '../model/types.js';
import { FASHION_MNIST_DIR, loadDataset } from '../train/dataset.js';
import { accuracyLosses, DEFAULT_SEED, formatAccuracy, LENET_SPARSE, trainModel } from '../train/recipes.js';
import type { ModeRule } from './options.js';

interface Args {
  data: string;
  output: string;
  binary: boolean;
  seed: number;
  hidden?: string;
  density?: string;
  epochs?: number;
  pruneEpochs?: string;
  shareEpochs?: number;
  bits: number;
  pes: number;
  zBits: number;
  quiet: boolean;
  json: boolean;
}

/** Options that do nothing with --binary (src/cli.ts refuses them): it trains without pruning, weight sharing or PEs. */
export const trainModeRules: ModeRule[] = ['density', 'prune-epochs', 'share-epochs', 'bits', 'pes', 'z-bits'].map((option) => ({
  option,
  applies: (a) => !a.binary,
  why: 'with --binary: it trains without pruning or weight sharing, and the XNOR units have no codebook or PEs to interleave over',
}));

export const trainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train an MLP on MNIST-style IDX data and compress it with retraining (Deep Compression) into a .hwb bundle, or train a binarized MLP for the XNOR units (--binary)',
  builder: (y: Argv) =>
    y
      .option('data', { type: 'string', default: FASHION_MNIST_DIR, describe: 'directory with train-/t10k- images and labels as (gzipped) IDX files' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the bundle to write (.hwb)' })
      .option('binary', { type: 'boolean', default: false, describe: 'train a binarized MLP (BWN first layer, batch-norm, sign activations) for the XNOR units' })
      .option('seed', { type: 'number', default: DEFAULT_SEED, describe: 'seed of the initial weights and the example order: one seed, one model, byte for byte' })
      .option('hidden', { type: 'string', describe: 'hidden layer sizes, e.g. 300,100 [default: 300,100; --binary 256,256]' })
      .option('density', { type: 'string', describe: 'final density of each layer after pruning [default: 0.08,0.09,0.26, the paper\'s LeNet-300-100]' })
      .option('epochs', { type: 'number', describe: 'epochs of float training (--binary: of binary training) [default: 6; --binary 4]' })
      .option('prune-epochs', { type: 'string', describe: 'retraining epochs after each pruning stage: one value for each of 3 stages, or a list with one value per stage [default: 2,2,6]' })
      .option('share-epochs', { type: 'number', describe: 'epochs of centroid fine-tuning after k-means [default: 2]' })
      .option('bits', { type: 'number', default: 4, describe: 'codebook index bits B: 2^B - 1 shared weights plus zero' })
      .option('pes', { type: 'number', default: LENET_SPARSE.pes, describe: 'processing elements the rows are interleaved over (hwgen sim --pes re-interleaves)' })
      .option('z-bits', { type: 'number', default: LENET_SPARSE.zBits, describe: 'width of a relative row index z' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress lines on stderr' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    checkOutputs([{ path: argv.output, flag: '-o' }], [{ path: argv.data, flag: '--data', folder: true }]);
    const hidden = argv.hidden === undefined ? undefined : positiveInts('hidden', argv.hidden);
    const density = argv.density === undefined ? undefined : fractions('density', argv.density);
    if (!argv.binary && hidden && hidden.length !== 2 && !density) {
      throw new HwgenError(`--hidden ${argv.hidden}: the default densities are for 3 layers; give --density with one value per layer (${hidden.length + 1})`, 2);
    }
    if (density && density.length !== (hidden?.length ?? 2) + 1) {
      throw new HwgenError(`--density ${argv.density}: ${density.length} value(s) for ${(hidden?.length ?? 2) + 1} layers; give one per layer`, 2);
    }
    for (const [flag, x] of [['epochs', argv.epochs], ['share-epochs', argv.shareEpochs]] as const) {
      if (x !== undefined && !isEpochs(x)) throw new HwgenError(`--${flag} ${x}: give a whole number of epochs, 0..1000`, 2);
    }
    const pruneEpochs = argv.pruneEpochs === undefined ? undefined : stageEpochs(argv.pruneEpochs);
    if (!Number.isInteger(argv.seed) || argv.seed < 0 || argv.seed > 0xffffffff) throw new HwgenError(`--seed ${argv.seed}: give an integer in 0..4294967295`, 2);
    checkRange('bits', argv.bits, '--bits');
    const sparse = { pes: argv.pes, vBits: Math.max(4, argv.bits), zBits: argv.zBits };
    checkSparse(sparse, 'options');
    checkNumeric(DEFAULT_NUMERIC, 'options');
    const data = loadDataset(argv.data);
    const log = argv.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
    const res = trainModel(data, {
      binary: argv.binary, seed: argv.seed, hidden, density, epochs: argv.epochs, pruneEpochs,
      shareEpochs: argv.shareEpochs, bits: argv.bits, sparse, log,
    });
    writeBundle(argv.output, res.bundle);
    for (const w of accuracyLosses(res.accuracy)) process.stderr.write(`hwgen: warning: ${w}\n`);
    const report = engineFor(res.bundle).report(res.bundle);
    if (argv.json) {
      process.stdout.write(JSON.stringify({ output: argv.output, accuracy: res.accuracy, trainingSeconds: res.seconds, ...report.json }, null, 2) + '\n');
      return;
    }
    process.stdout.write(`${report.text}\ntop-1 test accuracy: ${formatAccuracy(res.accuracy)}\ntrained in ${res.seconds.toFixed(0)} s\nwrote ${argv.output}\n`);
  },
};

function positiveInts(flag: string, text: string): number[] {
  const xs = text.split(',').map((s) => Number(s.trim()));
  if (!xs.length || !xs.every((x) => Number.isInteger(x) && x > 0 && x <= 65536)) throw new HwgenError(`--${flag} ${text}: give sizes as positive integers, e.g. 300,100`, 2);
  return xs;
}

function isEpochs(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 1000;
}

/** One value is every one of the 3 stages; a list is one stage per value. */
function stageEpochs(text: string): number[] {
  const xs = String(text).split(',').map((s) => (s.trim() === '' ? NaN : Number(s.trim())));
  if (!xs.every(isEpochs)) throw new HwgenError(`--prune-epochs ${text}: give whole numbers of epochs, 0..1000: one for every stage (2) or one per stage (2,2,6)`, 2);
  return xs.length === 1 ? [xs[0], xs[0], xs[0]] : xs;
}

function fractions(flag: string, text: string): number[] {
  const xs = text.split(',').map((s) => Number(s.trim()));
  if (!xs.every((x) => x > 0 && x <= 1)) throw new HwgenError(`--${flag} ${text}: give one density in (0, 1] per layer, e.g. 0.08,0.09,0.26`, 2);
  return xs;
}

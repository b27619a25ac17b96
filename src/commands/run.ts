import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { boardBundle, runChecked } from '../../host/batch.js';
import { VerifyError, type Device } from '../../host/device.js';
import { checkOutputs, writeFileAtomic } from '../atomic.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { noSaturations, saturationWarning } from '../golden/saturation.js';
import { encodeNpy } from '../model/npy.js';
import type { AnyBundle } from '../model/types.js';
import { argmax } from '../train/kernels.js';
import { deviceOptions, linkLine, linkSummary, modelFor, progressBar, snapshot, withDevice, type DeviceArgs } from './device-options.js';
import { boardFiles, outputArray, readLabels, readRunInputs } from './inputs.js';
import { loadText, loadWithProgress } from './load.js';

interface Args extends DeviceArgs {
  model?: string;
  input: string;
  output?: string;
  labels?: string;
  raw: boolean;
}

/** The inputs as the engine takes them, and the labels: all read and checked before anything goes to the board. */
function prepare(bundle: AnyBundle, argv: Args) {
  const engine = engineFor(bundle);
  const { length, image } = engine.input(bundle);
  const clipped = noSaturations();
  const xs = readRunInputs(argv.input, length, image).map((x) => engine.quantizeInput(bundle, x, clipped));
  const labels = argv.labels !== undefined ? readLabels(argv.labels, xs.length) : undefined;
  return { xs, labels, clipped };
}

export const runCommand: CommandModule<object, Args> = {
  command: 'run',
  describe: 'Load a bundle on a board, run inputs through it and check every output against the golden model',
  builder: (y: Argv) =>
    deviceOptions(y)
      .option('model', {
        alias: 'm',
        type: 'string',
        describe: "the bundle (.hwb) [default: the package's model for the board's engine: Fashion-MNIST LeNet-300-100 for EIE, the binarized MLP for XNOR]",
      })
      .option('input', {
        alias: 'i',
        type: 'string',
        demandOption: true,
        describe: 'inputs: .npy float32 [n, 784] or [n, 1, 28, 28] (images as pixels / 255), or a gzipped IDX images file (read as value / 255)',
      })
      .option('output', { alias: 'o', type: 'string', describe: 'write the outputs as .npy ([n, out] float32 real values, or int32 with --raw)' })
      .option('labels', { type: 'string', describe: 'an IDX labels file (gzipped or not), one per input: print the top-1 accuracy' })
      .option('raw', { type: 'boolean', default: false, describe: 'write the integers the board computed instead of real values' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    checkOutputs(
      [{ path: argv.output, flag: '--output' }],
      [{ path: argv.model, flag: '--model' }, { path: argv.input, flag: '--input' }, { path: argv.labels, flag: '--labels' }, ...boardFiles(argv.device)],
    );
    // With --model, every file is read and checked before the device is opened.
    let chosen = argv.model !== undefined ? modelFor(argv.model, '') : undefined;
    let prepared = chosen ? prepare(chosen.bundle, argv) : undefined;
    await withDevice(argv, async (dev, signal) => {
      const info = await dev.info();
      chosen ??= modelFor(undefined, info.engine);
      prepared ??= prepare(chosen.bundle, argv);
      const { xs, labels, clipped } = prepared;
      // The board's checksums tell whether it already holds this model: then nothing is sent again.
      const load = (await holds(dev, chosen.bundle)) ? undefined : await loadWithProgress(dev, chosen.bundle, chosen.path, argv.json, signal);
      const { engine, bundle } = await boardBundle(dev, chosen.bundle);
      const before = snapshot(dev.linkStats);
      const bar = progressBar(argv.json, 'running', 'inputs');
      const res = await runChecked(dev, engine, bundle, xs, { signal, onProgress: ({ done, total }) => bar.update(done, total) }).finally(() => bar.stop());
      const link = linkSummary(before, dev.linkStats, res.seconds);
      res.saturations[0].inputs += clipped.inputs;
      process.stderr.write(saturationWarning(res.saturations, bundle.layers.map((l) => l.name), `on these ${xs.length} input(s)`) ?? '');
      if (argv.output !== undefined) {
        writeFileAtomic(argv.output, encodeNpy(outputArray(res.outputs, engine.outputLength(bundle), argv.raw ? undefined : engine.outputValue(bundle))), 'output');
      }
      const meanCycles = res.cycles.reduce((a, b) => a + b, 0) / res.cycles.length;
      const right = labels ? res.outputs.filter((y, n) => argmax(y) === labels[n]).length : undefined;
      const accuracy = right === undefined ? undefined : right / xs.length;
      if (argv.json) {
        const out = { device: argv.device, engine: engine.title, configHash: info.configHash, load: load ?? null, inferences: xs.length, cyclesPerInference: meanCycles, requestsPerInference: link.requests / xs.length, golden: res.golden, accuracy, saturations: res.saturations, link };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        const lines = [
          load ? loadText(load).trimEnd() : `the board already holds ${chosen.path} (every memory's checksum equals the bundle's): not loaded again`,
          `ran ${xs.length} input(s) in ${res.seconds.toFixed(2)} s (${(xs.length / res.seconds).toFixed(0)} per second): ${res.golden.match ? 'every output equals the golden model' : 'MISMATCH with the golden model'}`,
          `  board: ${meanCycles.toFixed(0)} cycles per inference on average (${((meanCycles / info.clockHz) * 1e6).toFixed(1)} µs at ${(info.clockHz / 1e6).toFixed(0)} MHz)`,
          ...(accuracy === undefined ? [] : [`  top-1 accuracy ${(accuracy * 100).toFixed(2)}% (${right} of ${xs.length} labels)`]),
          `  link: ${linkLine(link)}`,
          ...(argv.output !== undefined ? [`wrote ${argv.output}`] : []),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (!res.golden.match) {
        const m = res.golden.firstMismatch!;
        throw new HwgenError(`the board disagrees with the golden model: input ${m.input}, output ${m.index}: board ${m.rtl}, golden ${m.golden}; check the build (hwgen info) and load again`);
      }
    });
  },
};

/** Whether the board holds the bundle already: every memory it loads reads back with the bundle's checksum. */
async function holds(dev: Device, bundle: AnyBundle): Promise<boolean> {
  try {
    await dev.verify(bundle);
    return true;
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
}

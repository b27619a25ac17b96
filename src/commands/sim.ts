import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { simulateOnDevice, type DeviceSimResult } from '../../host/sim-device.js';
import { checkOutputs, writeFileAtomic } from '../atomic.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { noSaturations, saturationWarning, totalSaturations } from '../golden/saturation.js';
import { readAnyBundle } from '../model/bundle.js';
import { encodeNpy } from '../model/npy.js';
import { outputArray, readInputs } from './inputs.js';
import { readJson, type ModeRule } from './options.js';

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

/** Options that do nothing in the mode given (src/cli.ts refuses them). */
export const simModeRules: ModeRule[] = [
  { option: 'fifo-depth', applies: (a) => a.config === undefined, why: "with --config: the config's fifoDepth sets the queue depth" },
];

export const simCommand: CommandModule<object, Args> = {
  command: 'sim <bundle>',
  describe: 'Build (or reuse) the Verilator model of the board a bundle runs on (the shell and the EIE engine, or the XNOR units for --binary bundles), drive it through the host driver like a board, and check every output against the golden model',
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
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    checkOutputs([{ path: argv.output, flag: '-o' }, { path: argv.trace, flag: '--trace' }], [{ path: argv.bundle, flag: 'the bundle' }, { path: argv.input, flag: '--input' }, { path: argv.config, flag: '--config' }]);
    const given = readAnyBundle(argv.bundle);
    const engine = engineFor(given);
    const { length, image } = engine.input(given);
    const clipped = noSaturations();
    const xs = readInputs(argv.input, length, image).map((x) => engine.quantizeInput(given, x, clipped));
    const res = await simulateOnDevice(given, xs, {
      configFile: argv.config ? { raw: readJson(argv.config), where: argv.config } : undefined,
      pes: argv.pes,
      fifoDepth: argv.fifoDepth,
      trace: argv.trace,
    });
    const { bundle, config } = res;
    res.saturations[0].inputs += clipped.inputs;
    process.stderr.write(saturationWarning(res.saturations, bundle.layers.map((l) => l.name), `on these ${xs.length} input(s)`) ?? '');
    if (argv.output !== undefined) writeFileAtomic(argv.output, encodeNpy(outputArray(res.outputs, engine.outputLength(bundle), argv.raw ? undefined : engine.outputValue(bundle))), 'output');
    const hash = engine.configHash(config);
    if (argv.json) {
      const { outputs, engine: _, bundle: __, counters, cycles, seconds: ___, ...rest } = res;
      process.stdout.write(JSON.stringify({ engine: engine.title, configHash: hash, ...rest, cyclesPerInference: cycles, ...counters, inferences: outputs.length }, null, 2) + '\n');
    } else {
      process.stdout.write(reportText(res, `${engine.title} engine ${hash}: ${engine.describe(config)}`, bundle.layers.length, argv.output));
    }
    if (!res.golden.match) {
      const m = res.golden.firstMismatch!;
      throw new HwgenError(`the RTL disagrees with the golden model: input ${m.input}, output ${m.index}: RTL ${m.rtl}, golden ${m.golden}`);
    }
  },
};

function reportText(res: DeviceSimResult, title: string, layers: number, output?: string): string {
  const mean = res.cycles.reduce((a, b) => a + b, 0) / Math.max(1, res.cycles.length);
  const lines = [
    `${title}, ${res.build.cached ? 'cached model' : `built in ${res.build.seconds.toFixed(1)} s`}`,
    `loaded ${layers} layer(s) through the link in ${res.loadCycles} cycles`,
    `${res.outputs.length} inference(s): ${mean.toFixed(1)} cycles each on average` +
      ` (per layer, first input: ${res.layerCycles[0]?.join(', ') ?? '-'})`,
    `golden model: ${res.golden.match ? 'bit-exact match' : 'MISMATCH'}, fixed-point saturations ${totalSaturations(res.saturations)}`,
    `link: ${res.link.bytesSent} bytes sent, ${res.link.bytesReceived} received, ${res.link.retries} retries`,
  ];
  if (output) lines.push(`wrote ${output}`);
  return lines.join('\n') + '\n';
}

import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkOutputs } from '../atomic.js';
import { HwgenError } from '../errors.js';
import { readNetwork } from '../model/bundle.js';
import { engineFor } from '../engines/registry.js';
import { readBuildResources } from '../report/build-resources.js';
import { MANIFEST } from '../targets/build.js';
import { efficiencyOf, readSimInputs, readSimResult, simFigures } from '../report/sim-result.js';

interface Args {
  bundle: string;
  output: string;
  sim?: string;
  input?: string;
  build?: string;
}

export const reportCommand: CommandModule<object, Args> = {
  command: 'report <bundle>',
  describe: 'Write one self-contained HTML page of a bundle: bytes per stage, weight distribution and codebook, Huffman codes, load balance (and a simulation and a build)',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to report on (.hwb)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the page to write (.html)' })
      .option('sim', { type: 'string', describe: "a simulation's result: the JSON 'hwgen sim --json' prints (cycles per layer)" })
      .option('input', { type: 'string', describe: "with --sim on an EIE bundle: the inputs (.npy) the simulation ran, for the load-balance efficiency" })
      .option('build', { type: 'string', describe: "a folder 'hwgen build' wrote: its target, resources against the part and Fmax (from its manifest.json)" }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    if (argv.input !== undefined && argv.sim === undefined) throw new HwgenError('--input goes with --sim: it names the inputs that simulation ran', 2);
    checkOutputs([{ path: argv.output, flag: '-o' }], [
      { path: argv.bundle, flag: 'the bundle' }, { path: argv.sim, flag: '--sim' }, { path: argv.input, flag: '--input' }, { path: argv.build, flag: '--build', folder: true },
    ]);
    // Every input is read and checked before anything is written.
    const network = readNetwork(argv.bundle);
    const build = argv.build === undefined ? undefined : readBuildResources(argv.build, MANIFEST);
    if (network.segments.length > 1) {
      if (argv.sim !== undefined) throw new HwgenError(`--sim: ${argv.bundle} is a hybrid network of ${network.segments.length} segments; the page shows a simulation of one-engine bundles only, so leave --sim out`, 2);
      const { writeNetworkReport } = await import('../report/report.js');
      await writeNetworkReport(argv.output, { network, bundleName: argv.bundle, build });
      process.stdout.write(`wrote ${argv.output}\n`);
      return;
    }
    const bundle = network.segments[0];
    let sim;
    if (argv.sim !== undefined) {
      const result = readSimResult(argv.sim);
      if (argv.input !== undefined && !efficiencyOf(bundle)) throw new HwgenError(`--input: the efficiency is measured for EIE bundles; this bundle is for the ${engineFor(bundle).title} engine`, 2);
      const inputs = argv.input === undefined ? undefined : { path: argv.input, rows: readSimInputs(argv.input, engineFor(bundle).input(bundle).length) };
      sim = simFigures(result, bundle, argv.sim, inputs);
    }
    // Vega takes a second to load: only the commands that draw load it.
    const { writeReport } = await import('../report/report.js');
    await writeReport(argv.output, { bundle, bundleName: argv.bundle, sim, build });
    process.stdout.write(`wrote ${argv.output}\n`);
  },
};

import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { bundleReport, formatReport } from '../compress/report.js';
import { readBundle } from '../model/bundle.js';

interface Args {
  bundle: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, Args> = {
  command: 'inspect <bundle>',
  describe: 'Validate a .hwb bundle (every CRC and invariant) and print its compression report',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to check (.hwb)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const bundle = readBundle(argv.bundle);
    const report = bundleReport(bundle);
    const formats = { numeric: bundle.numeric, meta: bundle.meta };
    if (argv.json) process.stdout.write(JSON.stringify({ bundle: argv.bundle, ...formats, ...report }, null, 2) + '\n');
    else {
      const n = bundle.numeric;
      process.stdout.write(
        `${argv.bundle}: valid\n` +
          `activations ${n.actBits}-bit (${n.actFrac} fractional), codebook ${n.weightBits}-bit, accumulator ${n.accBits}-bit\n` +
          `${formatReport(report)}\n`,
      );
    }
  },
};

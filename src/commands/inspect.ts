import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { binaryReport, formatBinaryReport } from '../compress/binarize.js';
import { bundleReport, formatReport } from '../compress/report.js';
import { readAnyBundle } from '../model/bundle.js';
import { isBinaryBundle } from '../model/types.js';

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
    const any = readAnyBundle(argv.bundle);
    if (isBinaryBundle(any)) {
      const n = any.numeric;
      const report = binaryReport(any);
      if (argv.json) process.stdout.write(JSON.stringify({ bundle: argv.bundle, numeric: n, meta: any.meta, ...report }, null, 2) + '\n');
      else {
        process.stdout.write(
          `${argv.bundle}: valid\n` +
            `activations ${n.actBits}-bit (${n.actFrac} fractional), alpha ${n.weightBits}-bit, score bias ${n.accBits}-bit\n` +
            `${formatBinaryReport(report)}\n`,
        );
      }
      return;
    }
    const bundle = any;
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

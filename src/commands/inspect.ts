import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { engineFor } from '../engines/registry.js';
import { readAnyBundle } from '../model/bundle.js';

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
    const bundle = readAnyBundle(argv.bundle);
    const report = engineFor(bundle).report(bundle);
    if (argv.json) process.stdout.write(JSON.stringify({ bundle: argv.bundle, ...report.json }, null, 2) + '\n');
    else process.stdout.write(`${argv.bundle}: valid\n${report.text}\n`);
  },
};

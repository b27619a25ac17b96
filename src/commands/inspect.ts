import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { engineFor } from '../engines/registry.js';
import { readNetwork } from '../model/bundle.js';

interface Args {
  bundle: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, Args> = {
  command: 'inspect <bundle>',
  describe: 'Validate a .hwb bundle (every CRC and invariant) and print its compression report (each segment\'s, for a hybrid network)',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to check (.hwb)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const { segments } = readNetwork(argv.bundle);
    const reports = segments.map((b) => engineFor(b).report(b));
    if (segments.length === 1) {
      if (argv.json) process.stdout.write(JSON.stringify({ bundle: argv.bundle, ...reports[0].json }, null, 2) + '\n');
      else process.stdout.write(`${argv.bundle}: valid\n${reports[0].text}\n`);
      return;
    }
    // A hybrid network: each segment as its engine reports it, in order.
    if (argv.json) {
      const json = { bundle: argv.bundle, segments: segments.map((b, s) => ({ engine: b.engine, ...reports[s].json })) };
      process.stdout.write(JSON.stringify(json, null, 2) + '\n');
      return;
    }
    const chain = segments.map((b) => engineFor(b).title).join(' → ');
    const text = segments.map((b, s) => `segment ${s}: ${engineFor(b).title}, ${b.layers.length} layer(s)\n${reports[s].text}\n`).join('\n');
    process.stdout.write(`${argv.bundle}: valid, a hybrid network of ${segments.length} segments (${chain})\n${text}`);
  },
};

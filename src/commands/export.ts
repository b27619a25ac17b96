import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { writeFileAtomic } from '../atomic.js';
import { readBundle } from '../model/bundle.js';
import { encodeNpz } from '../model/npz.js';
import { exportArrays } from '../model/export.js';

interface Args {
  bundle: string;
  output: string;
}

export const exportCommand: CommandModule<object, Args> = {
  command: 'export <bundle>',
  describe: 'Write the decoded dense matrices (float32: shared weights where kept, zeros elsewhere) and biases as .npz',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to decode (.hwb)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the .npz to write (NAME.weight, NAME.bias)' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const bundle = readBundle(argv.bundle);
    writeFileAtomic(argv.output, encodeNpz(exportArrays(bundle)));
    process.stdout.write(`wrote ${argv.output} (${bundle.layers.length} layer(s))\n`);
  },
};

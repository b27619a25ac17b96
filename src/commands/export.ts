import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkOutputs, writeFileAtomic } from '../atomic.js';
import { readNetwork } from '../model/bundle.js';
import { encodeNpz } from '../model/npz.js';
import { engineFor } from '../engines/registry.js';

interface Args {
  bundle: string;
  output: string;
}

export const exportCommand: CommandModule<object, Args> = {
  command: 'export <bundle>',
  describe: 'Write a bundle back as .npz: the decoded dense float32 matrices and biases (binary bundles: ±1 weights with thresholds or α; docs/xnor.md)',
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle to decode (.hwb)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the .npz to write (NAME.weight, NAME.bias)' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    checkOutputs([{ path: argv.output, flag: '-o' }], [{ path: argv.bundle, flag: 'the bundle' }]);
    const { segments } = readNetwork(argv.bundle);
    // Every segment's arrays in order; layer names are unique over a network, so the arrays' are too.
    const arrays = segments.flatMap((b) => engineFor(b).exportArrays(b));
    writeFileAtomic(argv.output, encodeNpz(arrays), 'export');
    const layers = segments.reduce((n, b) => n + b.layers.length, 0);
    process.stdout.write(`wrote ${argv.output} (${layers} layer(s)${segments.length > 1 ? ` in ${segments.length} segments` : ''})\n`);
  },
};

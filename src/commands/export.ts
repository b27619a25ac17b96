import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { writeFileAtomic } from '../atomic.js';
import { decodeDenseCodes } from '../golden/eie.js';
import { fromFixed } from '../golden/fixed.js';
import { readBundle } from '../model/bundle.js';
import { encodeNpz } from '../model/npz.js';
import type { Bundle } from '../model/types.js';
import type { NdArray } from '../model/ndarray.js';

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

/** The arrays `hwgen export` writes: the same naming `hwgen compress` reads, so an export can be compressed again. */
export function exportArrays(bundle: Bundle): { name: string; array: NdArray }[] {
  const out: { name: string; array: NdArray }[] = [];
  for (const l of bundle.layers) {
    const codes = decodeDenseCodes(l);
    const weight = Float32Array.from(codes, (q) => fromFixed(q, l.wFrac));
    const bias = Float32Array.from(l.bias, (q) => fromFixed(q, bundle.numeric.actFrac + l.wFrac));
    out.push({ name: `${l.name}.weight`, array: { dtype: 'f4', shape: [l.rows, l.cols], data: weight } });
    out.push({ name: `${l.name}.bias`, array: { dtype: 'f4', shape: [l.rows], data: bias } });
  }
  return out;
}

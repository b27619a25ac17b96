import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkOutputs, readFileChecked, writeFileAtomic } from '../atomic.js';
import { encodeLoadImage, loadImage } from '../engines/load-image.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { readAnyBundle } from '../model/bundle.js';
import { MANIFEST, type Manifest } from '../targets/build.js';

interface Args {
  bundle: string;
  build: string;
  output: string;
}

export const imageCommand: CommandModule<object, Args> = {
  command: 'image <bundle>',
  describe: "Write a bundle's load image (docs/load-image.md) for a build folder's board: what the C client (DIR/c) loads and runs",
  builder: (y: Argv) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the bundle (.hwb)' })
      .option('build', { type: 'string', demandOption: true, describe: 'the folder hwgen build wrote for the board (its manifest.json names the build)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the load image to write (.img)' }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const manifestPath = join(argv.build, MANIFEST);
    checkOutputs([{ path: argv.output, flag: '-o' }], [{ path: argv.bundle, flag: 'the bundle' }, { path: manifestPath, flag: '--build' }]);
    const given = readAnyBundle(argv.bundle);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(Buffer.from(readFileChecked(manifestPath, 'build manifest')).toString('utf8')) as Manifest;
    } catch (e) {
      if (e instanceof HwgenError) throw e;
      throw new HwgenError(`${manifestPath}: not a manifest hwgen build writes (${(e as Error).message}); give the folder of a build`);
    }
    const engine = engineFor(given);
    if (manifest.engine !== engine.name) throw new HwgenError(`--build ${argv.build} carries the ${manifest.engine} engine; ${argv.bundle} is for the ${engine.title} engine: build for it with hwgen build`);
    const config = engine.validateConfig(manifest.config, manifestPath);
    const { bundle } = engine.plan(given, { config });
    const words = manifest.shell?.maxPayloadWords;
    if (!Number.isInteger(words)) throw new HwgenError(`${manifestPath}: no shell.maxPayloadWords; rebuild the folder with this hwgen`);
    writeFileAtomic(argv.output, encodeLoadImage(loadImage(engine, bundle, config, words)), 'load image');
    process.stdout.write(`wrote ${argv.output}: ${argv.bundle} for build ${engine.configHash(config)} (${engine.describe(config)})\n`);
  },
};

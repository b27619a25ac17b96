/**
 * `hwgen train`'s refusals, as a user meets them: each bad option or data directory stops before any training,
 * with a clear message, a non-zero exit and no output file. (Training itself runs in the bench, never here.)
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHwgen } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hwgen train refuses bad input before training', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['one density per layer', ['--density', '0.1,0.2'], 2, /--density 0\.1,0\.2: 2 value\(s\) for 3 layers/],
    ['densities in (0, 1]', ['--density', '0.1,0,0.3'], 2, /give one density in \(0, 1\] per layer/],
    ['hidden sizes', ['--hidden', '300,x'], 2, /--hidden 300,x: give sizes as positive integers/],
    ['densities for other hidden sizes', ['--hidden', '100'], 2, /--hidden 100: the default densities are for 3 layers; give --density with one value per layer \(2\)/],
    ['epochs', ['--epochs', '-1'], 2, /--epochs -1: give a whole number of epochs/],
    ['retraining epochs per pruning stage', ['--prune-epochs', '2,x,6'], 2, /--prune-epochs 2,x,6: give whole numbers of epochs, 0\.\.1000: one for every stage \(2\) or one per stage \(2,2,6\)/],
    ['retraining epochs, whole', ['--prune-epochs', '1.5'], 2, /--prune-epochs 1\.5: give whole numbers of epochs/],
    ['pruning options with --binary', ['--binary', '--prune-epochs', '3'], 2, /--binary trains without pruning or weight sharing; --prune-epochs do not apply/],
    ['a missing data directory', ['--data', join(dir, 'nowhere')], 1, /data directory .*nowhere does not exist; check the path/],
    ['a data directory without IDX files', ['--data', dir], 1, /no train-images-idx3-ubyte\.gz or train-images-idx3-ubyte/],
  ];
  for (const [what, args, code, pattern] of cases) {
    it(what, () => {
      const out = join(dir, 'model.hwb');
      const r = runHwgen(dir, ['train', '-o', out, '--quiet', ...args]);
      expect(r.code, r.err).toBe(code);
      expect(r.err).toMatch(pattern);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a truncated images file names the file', () => {
    const data = join(dir, 'cut');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'train-images-idx3-ubyte'), Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]));
    writeFileSync(join(data, 'train-labels-idx1-ubyte'), Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const r = runHwgen(dir, ['train', '-o', join(dir, 'm.hwb'), '--quiet', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cut.train-images-idx3-ubyte: not a valid IDX file: truncated: dimensions 9 x 28 x 28/);
  });
});

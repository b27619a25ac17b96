import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { Device } from '../../host/device.js';
import { compressModel } from '../compress/compress.js';
import { engineFor } from '../engines/registry.js';
import { writeBundle } from '../model/bundle.js';
import { DEFAULT_NUMERIC, type AnyBundle } from '../model/types.js';
import { buildTarget, fileHashes, MANIFEST, type Manifest } from './build.js';
import { simTarget } from './sim.js';

let dir: string;
let bundle: AnyBundle;
const at = (name: string) => join(dir, name);
const hwgen = (args: string[]) => runHwgen(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-build-'));
  const r = rng(5);
  const layers = [
    { name: 'a', rows: 12, cols: 16, weight: gaussianMatrix(r, 192, 0.3), bias: gaussianMatrix(r, 12, 0.1), relu: true },
    { name: 'b', rows: 5, cols: 12, weight: gaussianMatrix(r, 60, 0.3), relu: false },
  ];
  bundle = compressModel({ source: 't', layers }, { density: 0.5, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
  writeBundle(at('tiny.hwb'), bundle);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything in the test folder but the given entries: a failed build must add nothing (no scratch folder either). */
const entries = () => readdirSync(dir).sort();

describe('hwgen build --target sim', () => {
  it('writes the model, its RTL and a manifest; a rebuild is byte-identical; the driver talks to it as to a board', async () => {
    const a = hwgen(['build', '--target', 'sim', '--model', 'tiny.hwb', '-o', 'a']);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/built --target sim in a: eie [0-9a-f]{8}/);
    const manifest = JSON.parse(readFileSync(at('a/manifest.json'), 'utf8')) as Manifest;
    expect(manifest.files).toEqual(fileHashes(at('a')));
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(['README.md', 'model', 'rtl/hwgen_shell.v', 'rtl/eie_top.v']));
    const engine = engineFor(bundle);
    expect(manifest.configHash).toBe(engine.configHash(engine.plan(bundle, {}).config));

    expect(hwgen(['build', '--target', 'sim', '--model', 'tiny.hwb', '-o', 'b', '--json']).code).toBe(0);
    expect(readFileSync(at('b/manifest.json'))).toEqual(readFileSync(at('a/manifest.json')));

    const dev = await Device.open(`sim:${at('a')}`);
    try {
      expect((await dev.info()).configHash).toBe(manifest.configHash);
      await dev.load(bundle);
      const x = engine.quantizeInput(bundle, Array.from(gaussianMatrix(rng(9), 16, 1)));
      expect((await dev.run(x)).output).toEqual(engine.forward(bundle, x)[1]);
    } finally {
      await dev.close();
    }
  }, 120_000);

  it('--force replaces an earlier build, and only a folder that holds one', () => {
    // an earlier build of another version, which wrote a file this one does not
    mkdirSync(at('earlier'));
    writeFileSync(at('earlier/manifest.json'), JSON.stringify({ hwgen: '0.0.1', files: { 'stale.v': '0'.repeat(64) } }));
    writeFileSync(at('earlier/stale.v'), '');
    expect(hwgen(['build', '--target', 'sim', '--model', 'tiny.hwb', '-o', 'earlier', '--force']).code).toBe(0);
    expect(existsSync(at('earlier/stale.v'))).toBe(false);
    expect(existsSync(at('earlier/model'))).toBe(true);
    expect(entries().filter((e) => e.startsWith('.'))).toEqual([]);
  }, 120_000);

  it('a build that fails half-way leaves the earlier build as it was and no scratch folder', async () => {
    const before = readFileSync(at('a/manifest.json'));
    const failing = {
      ...simTarget,
      async build(ctx: Parameters<typeof simTarget.build>[0]) {
        writeFileSync(join(ctx.dir, 'half.v'), 'module half;');
        throw new Error('synthesis failed');
      },
    };
    await expect(buildTarget({ target: failing, model: at('tiny.hwb'), out: at('a'), force: true })).rejects.toThrow('synthesis failed');
    expect(readFileSync(at('a/manifest.json'))).toEqual(before);
    expect(existsSync(at('a/half.v'))).toBe(false);
    expect(entries().filter((e) => e.startsWith('.'))).toEqual([]);
  });
});

describe('hwgen build refuses bad input before any work, and leaves nothing behind', () => {
  beforeAll(() => {
    writeFileSync(at('file'), 'x');
    mkdirSync(at('full'));
    writeFileSync(at('full/notes.txt'), 'mine');
    symlinkSync('nowhere', at('dangling'));
  });
  const cases: [string, string[], RegExp][] = [
    ['an unknown target', ['--target', 'vhdl', '-o', 'n1'], /--target vhdl: hwgen builds for sim/],
    ['a board for a target without boards', ['--target', 'sim', '--board', 'pynq-z2', '-o', 'n1'], /--target sim has no boards/],
    ['an option the target does not read', ['--target', 'sim', '--baud', '115200', '-o', 'n1'], /--baud does nothing for --target sim/],
    ['an output folder that is a file', ['--target', 'sim', '-o', 'file'], /-o file is a file, not a folder/],
    ['a folder with files and no --force', ['--target', 'sim', '-o', 'full'], /-o full is not empty; .*--force/],
    ['--force on a folder that is no earlier build', ['--target', 'sim', '-o', 'full', '--force'], /holds files but no manifest\.json/],
    ['a link to nowhere', ['--target', 'sim', '-o', 'dangling'], /symbolic link to a path that does not exist/],
    ['a folder inside a missing one', ['--target', 'sim', '-o', 'missing/out'], /does not exist/],
    ['a missing model', ['--target', 'sim', '--model', 'none.hwb', '-o', 'n1'], /none\.hwb: no such file/],
    ['a model that does not fit the config', ['--target', 'sim', '--model', 'tiny.hwb', '--config', 'small.json', '-o', 'n1'], /small\.json: the bundle does not fit the hardware \(per PE: pointers 30 > 4/],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const engine = engineFor(bundle);
      writeFileSync(at('small.json'), JSON.stringify({ ...engine.plan(bundle, {}).config, ptrDepth: 4, actDepth: 4 }));
      const before = entries();
      const full = readFileSync(at('full/notes.txt'), 'utf8');
      const r = hwgen(['build', ...args]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/internal error|\n\s+at /);
      expect(entries()).toEqual(before);
      expect(readFileSync(at('full/notes.txt'), 'utf8')).toBe(full);
    });
  }
});

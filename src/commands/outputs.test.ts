/**
 * The one output rule (src/atomic.ts checkOutputs) as every command meets it through the real CLI: no output may
 * be an input, lie inside an input folder (a --build folder, a sim: board in use), or be a folder holding an
 * input; build --force replaces only an earlier build's own files. Each refusal leaves every file as it was.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { encodeNpy } from '../model/npy.js';

let dir: string;
const at = (name: string) => join(dir, name);
const hwgen = (...args: string[]) => runHwgen(dir, args);

/** Every file under the test folder with its hash (links by target), to prove a refusal changed nothing. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const s = lstatSync(p);
      if (s.isDirectory()) walk(p);
      else out[relative(dir, p)] = s.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'other';
    }
  };
  walk(dir);
  return out;
}

function refused(args: string[], message: RegExp, code = 2): void {
  const before = snapshot();
  const r = hwgen(...args);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  expect(r.code).toBe(code);
  expect(snapshot()).toEqual(before);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-outputs-'));
  writeFileSync(at('w.npy'), encodeNpy({ dtype: 'f4', shape: [12, 16], data: gaussianMatrix(rng(4), 192, 0.3) }));
  writeFileSync(at('x.npy'), encodeNpy({ dtype: 'f4', shape: [2, 16], data: Float32Array.from({ length: 32 }, (_, i) => (i % 5) / 5) }));
  const c = hwgen('compress', 'w.npy', '-o', 'm.hwb', '--density', '0.5', '--pes', '2');
  if (c.code !== 0) throw new Error(c.err);
  const b = hwgen('build', '--target', 'sim', '--model', 'm.hwb', '-o', 'board');
  if (b.code !== 0) throw new Error(b.err);
  writeFileSync(at('sim.json'), '{}');
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('no output may be an input', () => {
  it('report: -o the bundle, the --sim JSON, the --input, or a file in the --build folder (even through a symlink)', () => {
    refused(['report', 'm.hwb', '-o', 'm.hwb'], /-o m\.hwb is the bundle m\.hwb: writing it would destroy the input/);
    refused(['report', 'm.hwb', '--sim', 'sim.json', '-o', 'sim.json'], /-o sim\.json is --sim sim\.json/);
    refused(['report', 'm.hwb', '--sim', 'sim.json', '--input', 'x.npy', '-o', 'x.npy'], /-o x\.npy is --input x\.npy/);
    refused(['report', 'm.hwb', '--build', 'board', '-o', 'board/manifest.json'], /-o board\/manifest\.json is inside --build board: writing it would change that input/);
    symlinkSync('board', at('alias'));
    refused(['report', 'm.hwb', '--build', 'alias', '-o', 'board/README.md'], /-o board\/README\.md is inside --build alias/);
    symlinkSync('m.hwb', at('m-link.hwb'));
    refused(['report', 'm.hwb', '-o', 'm-link.hwb'], /-o m-link\.hwb is the bundle m\.hwb/);
  });

  it("run: -o a file of the sim: board in use (its model executable)", () => {
    refused(['run', '--device', 'sim:board', '--model', 'm.hwb', '--input', 'x.npy', '-o', 'board/model'], /--output board\/model is inside the board folder board: writing it would change that input/);
    refused(['run', '--device', 'sim:board', '--model', 'm.hwb', '--input', 'x.npy', '-o', 'x.npy'], /--output x\.npy is --input x\.npy/);
  });

  it('sim: -o the --config file', () => {
    writeFileSync(at('c.json'), '{}');
    refused(['sim', 'm.hwb', '--input', 'x.npy', '--config', 'c.json', '-o', 'c.json'], /-o c\.json is --config c\.json/);
  });

  it('build: -o a folder that holds the --model or --config, with or without --force', () => {
    mkdirSync(at('holds'));
    cpSync(at('m.hwb'), at('holds/m.hwb'));
    refused(['build', '--target', 'sim', '--model', 'holds/m.hwb', '-o', 'holds', '--force'], /-o holds holds --model holds\/m\.hwb: the build replaces that folder and would destroy the input/);
    cpSync(at('m.hwb'), at('board/m.hwb'));
    refused(['build', '--target', 'sim', '--model', 'board/m.hwb', '-o', 'board', '--force'], /-o board holds --model board\/m\.hwb/);
    rmSync(at('board/m.hwb'));
    refused(['build', '--target', 'sim', '--model', 'm.hwb', '-o', 'x.npy'], /-o x\.npy is a file, not a folder/);
  });
});

describe('build --force replaces only an earlier build', () => {
  it("refuses a folder with files its manifest does not list, naming them, and one whose manifest is not hwgen's", () => {
    const earlier = at('earlier');
    cpSync(at('board'), earlier, { recursive: true });
    writeFileSync(join(earlier, 'notes.txt'), 'mine');
    mkdirSync(join(earlier, 'runs'));
    writeFileSync(join(earlier, 'runs', 'a.npy'), 'mine too');
    refused(['build', '--target', 'sim', '--model', 'm.hwb', '-o', 'earlier', '--force'], /-o earlier holds 2 file\(s\) the earlier build did not write \(notes\.txt, runs\/a\.npy\): --force replaces only what its manifest\.json lists; move them out/);
    mkdirSync(at('other'));
    writeFileSync(at('other/manifest.json'), '{"name": "some other tool"}');
    writeFileSync(at('other/data.bin'), 'x');
    refused(['build', '--target', 'sim', '--model', 'm.hwb', '-o', 'other', '--force'], /-o other: its manifest\.json is not an hwgen build's .*--force will not replace it/);
    // without the foreign files, the earlier build is replaced
    rmSync(join(earlier, 'notes.txt'));
    rmSync(join(earlier, 'runs'), { recursive: true });
    const r = hwgen('build', '--target', 'sim', '--model', 'm.hwb', '-o', 'earlier', '--force');
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(earlier, 'manifest.json'))).toEqual(readFileSync(at('board/manifest.json')));
  }, 120_000);
});

describe('build -o where no folder can be made', () => {
  for (const place of ['/proc/hwgen-x', '/sys/hwgen-x']) {
    it(`${place}: a clear error before any work, no stack trace`, () => {
      const r = hwgen('build', '--target', 'sim', '--model', 'm.hwb', '-o', place);
      expect(r.err).toMatch(new RegExp(`-o ${place}: cannot create a folder in /(proc|sys) \\(.+\\); choose another output folder`));
      expect(r.err).not.toMatch(/internal error|\n\s+at /);
      expect(r.code).toBe(1);
      expect(existsSync(place)).toBe(false);
    });
  }
});

describe('inputs that would hang', () => {
  it('a FIFO nobody writes, as any command input, is a clear error at once', () => {
    execFileSync('mkfifo', [at('pipe')]);
    const cases: [string[], string][] = [
      [['inspect', 'pipe'], 'bundle'],
      [['compress', 'pipe', '-o', 'p.hwb'], 'weights file'],
      [['sim', 'm.hwb', '--input', 'x.npy', '--config', 'pipe'], 'config'],
      [['build', '--target', 'sim', '--model', 'pipe', '-o', 'p'], 'model'],
      [['report', 'm.hwb', '--sim', 'pipe', '-o', 'p.html'], 'simulation result'],
    ];
    for (const [args, what] of cases) refused(args, new RegExp(`cannot read ${what} pipe: it is a FIFO and no process is writing it; start the writer first`), 1);
  });
});

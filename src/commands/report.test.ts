/** `hwgen report` as a user runs it: bad inputs get a clear message and leave no file; output is deterministic. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { encodeNpy } from '../model/npy.js';

let dir: string;
const hwgen = (...args: string[]) => runHwgen(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-report-cli-'));
  writeFileSync(join(dir, 'w.npy'), encodeNpy({ dtype: 'f4', shape: [24, 40], data: gaussianMatrix(rng(9), 960, 0.1) }));
  const c = hwgen('compress', 'w.npy', '-o', 'w.hwb', '--density', '0.25', '--pes', '4');
  if (c.code !== 0) throw new Error(c.err);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hwgen report', () => {
  it('writes the same bytes for the same inputs, in separate runs', () => {
    expect(hwgen('report', 'w.hwb', '-o', 'a.html').code).toBe(0);
    expect(hwgen('report', 'w.hwb', '-o', 'b.html').code).toBe(0);
    const a = readFileSync(join(dir, 'a.html'));
    expect(a.equals(readFileSync(join(dir, 'b.html')))).toBe(true);
    // Self-contained: nothing is fetched when the page opens.
    expect(a.toString()).not.toMatch(/<(script|link|img)\b|https?:\/\/(?!www\.w3\.org)/);
  });

  it('gives a corrupt bundle the same error as inspect', () => {
    const bad = Buffer.from(readFileSync(join(dir, 'w.hwb')));
    bad[Math.floor(bad.length / 2)] ^= 0x20;
    writeFileSync(join(dir, 'bad.hwb'), bad);
    const inspect = hwgen('inspect', 'bad.hwb');
    const report = hwgen('report', 'bad.hwb', '-o', 'bad.html');
    expect(inspect.code).not.toBe(0);
    expect(report.code).toBe(inspect.code);
    expect(report.err).toBe(inspect.err);
    expect(existsSync(join(dir, 'bad.html'))).toBe(false);
  });

  const cases: [string, () => string[], RegExp][] = [
    ['a missing --sim file', () => ['--sim', 'none.json'], /cannot read simulation result none\.json: no such file/],
    ['a --sim file that is not JSON', () => (writeFileSync(join(dir, 'half.json'), '{"engine": "EI'), ['--sim', 'half.json']), /half\.json: not JSON .*hwgen sim/],
    ['a --sim result of another shape', () => (writeFileSync(join(dir, 'odd.json'), '{"engine": "EIE"}'), ['--sim', 'odd.json']), /odd\.json: "inferences" is not a positive integer/],
    ['--input without --sim', () => ['--input', 'x.npy'], /--input goes with --sim/],
    ['a missing --build folder', () => ['--build', 'nobuild'], /--build nobuild: no such folder/],
    ['a --build folder without a manifest', () => (mkdirSync(join(dir, 'empty'), { recursive: true }), ['--build', 'empty']), /manifest\.json: no such file/],
    ['an output folder that does not exist', () => ['-o', 'no/such/r.html'], /cannot write -o no\/such\/r\.html: directory no\/such does not exist/],
  ];
  for (const [name, args, message] of cases) {
    it(`refuses ${name} with a message and leaves no file`, () => {
      const before = new Set(readdirSync(dir));
      const extra = args();
      const r = hwgen('report', 'w.hwb', ...(extra.includes('-o') ? [] : ['-o', 'r.html']), ...extra);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/internal error|at .*\.ts:\d+/);
      expect(readdirSync(dir).filter((f) => !before.has(f) && !/\.json$|^empty$/.test(f))).toEqual([]);
    });
  }
});

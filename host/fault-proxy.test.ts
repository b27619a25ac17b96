/**
 * The link against byte faults on its real path: `hwgen run` in its own process on one socat pty pair, the
 * board built by `hwgen build --target sim` behind another (socat EXEC), and the fault proxy between the two.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../src/compress/compress.js';
import { engineFor } from '../src/engines/registry.js';
import { encodeBundle } from '../src/model/bundle.js';
import { encodeNpy, parseNpy } from '../src/model/npy.js';
import { DEFAULT_NUMERIC, type Bundle } from '../src/model/types.js';
import { runHwgen } from '../test/helpers/cli.js';
import { hwgenAsync, hwgenThroughFaults, socat } from '../test/helpers/pty-faults.js';
import { gaussianMatrix, rng } from '../test/helpers/random.js';
import { faultInjector } from './fault-proxy.js';

describe('the fault injector', () => {
  it('faults about the share of bytes asked, each kind, the same way for the same seed, keeping the rest in order', () => {
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff);
    const run = (seed: number) => {
      const f = faultInjector({ seed, rate: 0.01 });
      return { pieces: f.apply(bytes), counts: f.counts };
    };
    const a = run(1);
    const faults = a.counts.dropped + a.counts.flipped + a.counts.doubled + a.counts.delayed;
    expect(faults / bytes.length).toBeGreaterThan(0.008);
    expect(faults / bytes.length).toBeLessThan(0.012);
    for (const k of ['dropped', 'flipped', 'doubled', 'delayed'] as const) expect(a.counts[k]).toBeGreaterThan(150);
    expect(a.pieces.filter((p) => p.delayMs > 0).length).toBeGreaterThan(150);
    expect(run(1).pieces).toEqual(a.pieces);
    expect(run(2).pieces).not.toEqual(a.pieces);
    const out = a.pieces.flatMap((p) => Array.from(p.bytes));
    expect(out.length).toBe(bytes.length - a.counts.dropped + a.counts.doubled);
  });
});

let dir: string;
const at = (f: string) => join(dir, f);
let bundle: Bundle;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-faults-'));
  const r = rng(31);
  const layers = [
    { name: 'fc1', rows: 24, cols: 40, weight: gaussianMatrix(r, 960, 0.3), bias: gaussianMatrix(r, 24, 0.1), relu: true },
    { name: 'fc2', rows: 9, cols: 24, weight: gaussianMatrix(r, 216, 0.3), relu: false },
  ];
  bundle = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
  writeFileSync(at('m.hwb'), encodeBundle(bundle));
  writeFileSync(at('x.npy'), encodeNpy({ dtype: 'f4', shape: [30, 40], data: Float32Array.from(gaussianMatrix(r, 1200, 1), Math.abs) }));
  const built = runHwgen(dir, ['build', '--target', 'sim', '--model', 'm.hwb', '-o', 'board']);
  expect(built.err).toBe('');
  expect(built.code).toBe(0);
  expect(spawnSync('socat', ['-V']).status, "socat is missing: install Debian's 'socat' package").toBe(0);
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hwgen run through the fault proxy between two ptys, with the CLI defaults', () => {
  const expected = () => {
    const engine = engineFor(bundle);
    const { bundle: stored } = engine.plan(bundle, {});
    const x = parseNpy(readFileSync(at('x.npy')), 'x.npy').data as Float32Array;
    return Array.from({ length: 30 }, (_, n) => Array.from(engine.forward(stored, engine.quantizeInput(stored, Array.from(x.subarray(n * 40, (n + 1) * 40))))[1]));
  };

  for (const [seed, rate] of [[1, 0.001], [2, 0.003], [3, 0.003], [4, 0.01], [5, 0.01]] as const) {
    it(`${rate * 100}% of the bytes faulted both ways (seed ${seed}): every output right, no hang`, async () => {
      // A fresh board each time, 30 inputs, the CLI's defaults.
      const name = `s${seed}`;
      const args = ['run', '--model', 'm.hwb', '--input', 'x.npy', '-o', `${name}.npy`, '--raw', '--json'];
      const { run, toBoard, toHost } = await hwgenThroughFaults(dir, at('board/model'), args, { seed, rate, name });
      expect(run.hung, 'hwgen run hung').toBe(false);
      expect(run.err).toBe('');
      expect(run.code).toBe(0);
      const r = JSON.parse(run.out);
      expect(r.golden.match).toBe(true);
      const y = parseNpy(readFileSync(at(`s${seed}.npy`)), 'y.npy');
      expect(y.shape).toEqual([30, 9]);
      const rows = Array.from({ length: 30 }, (_, n) => Array.from((y.data as Int32Array).subarray(n * 9, (n + 1) * 9)));
      expect(rows).toEqual(expected());
      // The faults were there, both ways.
      expect(toBoard.dropped + toBoard.flipped + toBoard.doubled + toBoard.delayed).toBeGreaterThan(0);
      expect(toHost.bytes).toBeGreaterThan(1000);
    }, 200_000);
  }
});

describe('a far end that stops answering, through the CLI with its defaults', () => {
  it('a board gone silent is reported as a dead link within a few seconds, at once for a bad flag', async () => {
    const [host, far] = [at('dead-host'), at('dead-far')];
    const pair = await socat([`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${far}`], [host, far]);
    try {
      // Nothing answers at the far end: the board is unplugged, or has no hwgen build.
      const r = await hwgenAsync(dir, ['info', '--device', `serial:${host}`], 60_000);
      expect(r.hung).toBe(false);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/the link is dead: nothing came back for 4\.\d s \(request 0, \d+ tries\); check the cable/);
      expect(r.seconds).toBeLessThan(8);
      const quick = await hwgenAsync(dir, ['info', '--device', `serial:${host}?timeout=100`], 60_000);
      expect(quick.err).toMatch(/nothing came back for 4\.1 s/);
      for (const [flags, message] of [
        [['--tries', '0'], /--tries 0: give a whole number of tries per request from 1 to 1000/],
        [['--timeout', 'soon'], /--timeout soon: give a whole number of milliseconds to wait for a reply before resending from 1 to 600000/],
      ] as const) {
        const bad = await hwgenAsync(dir, ['info', '--device', `serial:${host}`, ...flags], 60_000);
        expect([bad.code, bad.err.trim()]).toEqual([2, expect.stringMatching(message)]);
      }
    } finally {
      pair.kill();
    }
  }, 60_000);
});

/**
 * The link against byte faults on its real path: `hwgen run` in its own process on one socat pty pair, the
 * board built by `hwgen build --target sim` behind another (socat EXEC), and the fault proxy between the two.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../src/compress/compress.js';
import { engineFor } from '../src/engines/registry.js';
import { encodeBundle } from '../src/model/bundle.js';
import { encodeNpy, parseNpy } from '../src/model/npy.js';
import { DEFAULT_NUMERIC, type Bundle } from '../src/model/types.js';
import { HWGEN_BIN, runHwgen } from '../test/helpers/cli.js';
import { gaussianMatrix, rng } from '../test/helpers/random.js';
import { faultInjector, faultProxy } from './fault-proxy.js';
import { openTransport } from './open.js';

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
const children: ChildProcess[] = [];

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
afterAll(() => {
  children.forEach((c) => c.kill());
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(paths: string[]): Promise<void> {
  for (let i = 0; i < 250 && !paths.every((p) => existsSync(p)); i++) await new Promise((r) => setTimeout(r, 20));
}

/** socat with these addresses, killed after the test file. */
function socat(...addresses: string[]): ChildProcess {
  const c = spawn('socat', addresses, { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** The CLI in its own process (the proxy runs in this one, so not spawnSync); killed as hung after `limitMs`. */
function hwgenAsync(args: string[], limitMs: number): Promise<{ code: number | null; out: string; err: string; hung: boolean }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [HWGEN_BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    let hung = false;
    const timer = setTimeout(() => ((hung = true), c.kill('SIGKILL')), limitMs);
    c.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err, hung })));
  });
}

/**
 * A fresh board (the model behind a pty, as a board on a serial cable) and a host pty pair, the proxy between
 * them faulting `rate` of the bytes each way from `seed`; `hwgen run` of 30 inputs on the host end with the
 * CLI's defaults.
 */
async function runThroughFaults(seed: number, rate: number, name: string) {
  const [board, host, hostFar] = [at(`${name}-board`), at(`${name}-host`), at(`${name}-far`)];
  const boardSocat = socat(`pty,raw,echo=0,link=${board}`, `EXEC:${at('board/model')} +verilator+rand+reset+2`);
  const pairSocat = socat(`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${hostFar}`);
  await waitFor([board, host, hostFar]);
  const proxy = faultProxy(await openTransport(`serial:${hostFar}`), await openTransport(`serial:${board}`), { seed, rate });
  try {
    const run = await hwgenAsync(['run', '--device', `serial:${host}`, '--model', 'm.hwb', '--input', 'x.npy', '-o', `${name}.npy`, '--raw', '--json'], 150_000);
    return { run, proxy };
  } finally {
    await proxy.close();
    boardSocat.kill();
    pairSocat.kill();
  }
}

describe('hwgen run through the fault proxy between two ptys, with the CLI defaults', () => {
  const expected = () => {
    const engine = engineFor(bundle);
    const { bundle: stored } = engine.plan(bundle, {});
    const x = parseNpy(readFileSync(at('x.npy')), 'x.npy').data as Float32Array;
    return Array.from({ length: 30 }, (_, n) => Array.from(engine.forward(stored, engine.quantizeInput(stored, Array.from(x.subarray(n * 40, (n + 1) * 40))))[1]));
  };

  for (const [seed, rate] of [[1, 0.001], [2, 0.003], [3, 0.003], [4, 0.01], [5, 0.01]] as const) {
    it(`${rate * 100}% of the bytes faulted both ways (seed ${seed}): every output right, no hang`, async () => {
      const { run, proxy } = await runThroughFaults(seed, rate, `s${seed}`);
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
      expect(proxy.toBoard.dropped + proxy.toBoard.flipped + proxy.toBoard.doubled + proxy.toBoard.delayed).toBeGreaterThan(0);
      expect(proxy.toHost.bytes).toBeGreaterThan(1000);
    }, 200_000);
  }
});

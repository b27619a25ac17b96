/**
 * hwgen serve and the tcp: transport as a user runs them: a simulated board served on a loopback port by one
 * process, driven by hwgen info / load / run in others, every output compared with the golden model.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFor } from '../engines/registry.js';
import { encodeBundle } from '../model/bundle.js';
import { encodeNpy, parseNpy } from '../model/npy.js';
import type { Bundle } from '../model/types.js';
import { tinyMlp } from '../../test/helpers/bundles.js';
import { HWGEN_BIN, runHwgen } from '../../test/helpers/cli.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';

let dir: string;
let bundle: Bundle;
const hwgen = (...args: string[]) => runHwgen(dir, args);
const at = (f: string) => join(dir, f);
const servers: ChildProcess[] = [];

/** Starts `hwgen serve` and resolves with the URL it prints, or rejects with what it printed on failing. */
function serve(...args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [HWGEN_BIN, 'serve', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / at (tcp:\S+) /.exec(out);
      if (m) resolve({ proc, url: m[1] });
    });
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => reject(Object.assign(new Error(`hwgen serve exited ${code}: ${err}`), { code, err })));
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-serve-'));
  // The bundle and build of run.test.ts: the model cache holds it.
  bundle = tinyMlp();
  writeFileSync(at('m.hwb'), encodeBundle(bundle));
  writeFileSync(at('x.npy'), encodeNpy({ dtype: 'f4', shape: [5, 40], data: Float32Array.from(gaussianMatrix(rng(3), 200), Math.abs) }));
  const built = hwgen('build', '--target', 'sim', '--model', 'm.hwb', '-o', 'board');
  expect(built.err).toBe('');
  expect(built.code).toBe(0);
}, 300_000);
afterAll(() => {
  servers.forEach((s) => s.kill('SIGKILL'));
  rmSync(dir, { recursive: true, force: true });
});

describe('hwgen serve: a board on a TCP port, driven as --device tcp:HOST:PORT', () => {
  it('info, load and run through the socket equal the golden model; the board keeps its weights between clients', async () => {
    const { proc, url } = await serve('--device', 'sim:board', '--listen', '127.0.0.1:0');
    expect(url).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    const info = hwgen('info', '--device', url, '--json');
    expect(info.err).toBe('');
    expect(JSON.parse(info.out).engine).toBe('eie');
    const first = hwgen('run', '--device', url, '--model', 'm.hwb', '--input', 'x.npy', '-o', 'y.npy', '--raw', '--json');
    expect(first.err).toBe('');
    expect(JSON.parse(first.out).golden.match).toBe(true);
    const engine = engineFor(bundle);
    const stored = engine.plan(bundle, {}).bundle;
    const x = parseNpy(readFileSync(at('x.npy')), 'x.npy').data as Float32Array;
    const y = parseNpy(readFileSync(at('y.npy')), 'y.npy').data as Int32Array;
    for (let n = 0; n < 5; n++) {
      const want = engine.forward(stored, engine.quantizeInput(bundle, x.subarray(n * 40, (n + 1) * 40)))[1];
      expect(Array.from(y.subarray(n * 9, (n + 1) * 9))).toEqual(Array.from(want));
    }
    // A second client finds the weights by checksum: nothing but the inputs crosses.
    const again = JSON.parse(hwgen('run', '--device', url, '--model', 'm.hwb', '--input', 'x.npy', '--json').out);
    expect([again.load, again.golden.match]).toEqual([null, true]);
    proc.kill('SIGINT');
    expect(await new Promise((r) => proc.once('exit', r))).toBe(0);
  }, 300_000);

  it('refuses a bad address, a port in use, a device it cannot open, and a tcp: device; a client finds nothing listening', async () => {
    const refused = (args: string[], msg: RegExp) => {
      const r = hwgen('serve', ...args);
      expect(r.err).toMatch(msg);
      expect(r.err).not.toMatch(/internal error|    at /);
      expect(r.code).not.toBe(0);
    };
    refused(['--device', 'sim:board', '--listen', 'localhost'], /--listen localhost: expected HOST:PORT/);
    refused(['--device', 'sim:no-board', '--listen', '127.0.0.1:0'], /sim:no-board: no simulator model there/);
    refused(['--device', 'tcp:127.0.0.1:7700'], /served already; give the board's own device/);
    const { proc, url } = await serve('--device', 'sim:board', '--listen', '127.0.0.1:0');
    refused(['--device', 'sim:board', '--listen', url.slice(4)], /is in use by another program; choose another port/);
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    const gone = hwgen('info', '--device', url);
    expect(gone.err).toMatch(/nothing listens on 127\.0\.0\.1 port \d+; start the bridge on the board \(or hwgen serve\)/);
    expect(gone.code).toBe(1);
  }, 120_000);
});

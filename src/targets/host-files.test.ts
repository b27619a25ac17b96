/**
 * The host files of every build folder: the load image (model.img) and the C client in DIR/c, compiled with
 * -Wall -Werror and run against the sim board over a socat pty, outputs equal to the golden model's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binarizeModel } from '../compress/binarize.js';
import { engineFor } from '../engines/registry.js';
import { fillInput, loadImage, takeOutput } from '../engines/load-image.js';
import { encodeBundle } from '../model/bundle.js';
import { encodeNpy } from '../model/npy.js';
import type { AnyBundle, FloatLayer } from '../model/types.js';
import { tinyMlp } from '../../test/helpers/bundles.js';
import { expectCClientMakes } from '../../test/helpers/c-client.js';
import { runHwgen } from '../../test/helpers/cli.js';
import { gaussian, gaussianMatrix, rng } from '../../test/helpers/random.js';

let dir: string;
const at = (f: string) => join(dir, f);
const hwgen = (...args: string[]) => runHwgen(dir, args);
const children: ChildProcess[] = [];
const madeDirs: string[] = [];

const eieBundle = (): AnyBundle => tinyMlp();

function binaryBundle(firstInput: 'binary' | 'fixed', lastOutput: 'threshold' | 'scores'): AnyBundle {
  const r = rng(5);
  const sizes = [37, 20, 11];
  const layers: FloatLayer[] = sizes.slice(1).map((rows, l) => ({
    name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l]), bias: gaussianMatrix(r, rows), relu: false,
    bn: {
      gamma: Float64Array.from({ length: rows }, () => 0.2 + r()), beta: Float64Array.from({ length: rows }, () => gaussian(r)),
      mean: Float64Array.from({ length: rows }, () => gaussian(r)), variance: Float64Array.from({ length: rows }, () => 0.1 + r()), eps: 1e-5,
    },
  }));
  return binarizeModel({ source: 't', layers }, { numeric: { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 }, firstInput, lastOutput });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-c-'));
});
afterAll(() => {
  children.forEach((c) => c.kill('SIGKILL'));
  for (const d of [dir, ...madeDirs]) rmSync(d, { recursive: true, force: true });
});

describe('the load image', () => {
  it('places every input value and takes every output value as the engine does, for each engine and input kind', () => {
    const r = rng(9);
    for (const given of [eieBundle(), binaryBundle('binary', 'threshold'), binaryBundle('fixed', 'scores')]) {
      const engine = engineFor(given);
      const { bundle, config } = engine.plan(given, engine.name === 'eie' ? { pes: 3 } : {});
      const img = loadImage(engine, bundle, config, 64);
      const n = engine.input(bundle).length;
      const base = img.input.flat().flatMap((c) => c.words);
      for (let t = 0; t < 5; t++) {
        const x = engine.quantizeInput(bundle, Array.from({ length: n }, () => gaussian(r) * 2));
        expect(fillInput(base, img.inputSlots, x)).toEqual(engine.inputCommands(bundle, x, config).flatMap((c) => c.words));
        const words = Uint32Array.from({ length: img.read.flat().reduce((s, c) => s + c.respWords, 0) }, () => Math.floor(r() * 2 ** 32));
        expect(img.outputSlots.map((s) => takeOutput(words, s))).toEqual(Array.from(engine.decodeOutput(bundle, config, words)));
      }
      for (const frame of [...img.load, ...img.input, ...img.read]) expect(frame.reduce((s, c) => s + c.words.length, 0)).toBeLessThanOrEqual(64);
      expect(img.pixelTable[255]).toBe(engine.quantizeInput(bundle, [1])[0]);
    }
  });
});

/** A sim board for `bundle` in DIR/name, its C client made, and its model behind a pty that outlives clients. */
async function board(name: string, bundle: AnyBundle): Promise<{ tty: string; client: (...args: string[]) => { code: number | null; out: string; err: string } }> {
  writeFileSync(at(`${name}.hwb`), encodeBundle(bundle));
  const built = hwgen('build', '--target', 'sim', '--model', `${name}.hwb`, '-o', name);
  expect(built.err).toBe('');
  expect(built.code).toBe(0);
  const made = expectCClientMakes(at(name), true);
  madeDirs.push(made);
  expect(readFileSync(at(`${name}/c/Makefile`), 'utf8')).toMatch(/-Wall -Wextra -Werror -std=c99 -pedantic/);
  const tty = at(`${name}.tty`);
  expect(spawnSync('socat', ['-V']).status, "socat is missing: install Debian's 'socat' package").toBe(0);
  // ignoreeof: the model lives on between clients, as a board does.
  children.push(spawn('socat', [`pty,raw,echo=0,link=${tty},ignoreeof`, `EXEC:${at(`${name}/model`)} +verilator+rand+reset+2`], { stdio: 'ignore' }));
  for (let i = 0; i < 100 && !existsSync(tty); i++) await new Promise((res) => setTimeout(res, 20));
  const client = (...args: string[]) => {
    const c = spawnSync(join(made, 'hwgen-client'), args, { encoding: 'utf8', cwd: at(name), timeout: 120_000 });
    return { code: c.status, out: c.stdout, err: c.stderr };
  };
  return { tty, client };
}

const int32s = (f: string) => {
  const b = readFileSync(f);
  return Array.from({ length: b.length / 4 }, (_, i) => b.readInt32LE(4 * i));
};

describe('hwgen-client, the C client every build folder carries', () => {
  it('EIE: info, load, verify and run uint8 pixels and int32 values over a pty, outputs equal to the golden model; clear refusals', async () => {
    const given = eieBundle();
    const { tty, client } = await board('eie', given);
    const engine = engineFor(given);
    const { bundle: stored } = engine.plan(given, {});
    const info = client(tty, 'info');
    expect(info.err).toBe('');
    expect(info.out).toMatch(new RegExp(`eie engine ${JSON.parse(readFileSync(at('eie/manifest.json'), 'utf8')).configHash}, .* frames of up to 256 words`));
    const load = client(tty, 'load');
    expect([load.err, load.code]).toEqual(['', 0]);
    expect(load.out).toMatch(/load: the board holds model\.img \(every memory's checksum matches\)/);
    const r = rng(4);
    const pixels = Uint8Array.from({ length: 6 * 40 }, (_, i) => (i % 7 === 0 ? 0 : Math.floor(r() * 256)));
    writeFileSync(at('in.u8'), pixels);
    const run = client(tty, 'run', '../in.u8', '../out.i32');
    expect([run.err, run.code]).toEqual(['', 0]);
    expect(run.out).toMatch(/ran 6 input\(s\): \d+ cycles per inference/);
    const want = Array.from({ length: 6 }, (_, n) => Array.from(engine.forward(stored, engine.quantizeInput(given, Array.from(pixels.subarray(n * 40, (n + 1) * 40), (p) => p / 255)))[1]));
    expect(int32s(at('out.i32'))).toEqual(want.flat());
    // int32 values as the engine takes them, with saturating extremes.
    const x = Int32Array.from({ length: 2 * 40 }, (_, i) => [32767, -32768, 0][i % 3] ?? 0);
    writeFileSync(at('in.i32'), Buffer.from(x.buffer));
    expect(client('-i', tty, 'run', '../in.i32', '../out2.i32').code).toBe(0);
    expect(int32s(at('out2.i32'))).toEqual([0, 1].flatMap((n) => Array.from(engine.forward(stored, x.subarray(n * 40, (n + 1) * 40))[1])));
    // A second client process finds the board as the first left it (its sequence numbers start past the board's).
    expect(client(tty, 'verify').code).toBe(0);

    const refused = (args: string[], msg: RegExp) => {
      const c = client(...args);
      expect(c.err).toMatch(msg);
      expect(c.code).not.toBe(0);
    };
    writeFileSync(at('short.img'), readFileSync(at('eie/model.img')).subarray(0, 400));
    refused([tty, 'load', '../short.img'], /short\.img: the load image is truncated or corrupt/);
    refused([tty, 'load', '../in.u8'], /in\.u8: not a load image/);
    writeFileSync(at('odd.u8'), pixels.subarray(0, 50));
    refused([tty, 'run', '../odd.u8', '../o.i32'], /odd\.u8: 10 bytes after the last whole input; each input is 40 bytes/);
    refused([at('no-such-tty'), 'info'], /no-such-tty: cannot open it/);
    refused(['-b', '12345', tty, 'info'], /12345 baud is not a rate this client sets/);
    refused([tty, 'frobnicate'], /usage: hwgen-client/);
    writeFileSync(at('xnor.hwb'), encodeBundle(binaryBundle('binary', 'threshold')));
    // hwgen image: the build's own model gives the build's image byte for byte; another bundle's loads and runs.
    expect(hwgen('image', 'eie.hwb', '--build', 'eie', '-o', 'same.img').code).toBe(0);
    expect(readFileSync(at('same.img'))).toEqual(readFileSync(at('eie/model.img')));
    const second = tinyMlp({ seed: 2 });
    writeFileSync(at('second.hwb'), encodeBundle(second));
    expect(hwgen('image', 'second.hwb', '--build', 'eie', '-o', 'second.img').code).toBe(0);
    expect(client(tty, 'load', '../second.img').code).toBe(0);
    expect(client('-m', '../second.img', tty, 'run', '../in.u8', '../out3.i32').code).toBe(0);
    const secondStored = engine.plan(second, {}).bundle;
    expect(int32s(at('out3.i32'))).toEqual([0, 1, 2, 3, 4, 5].flatMap((n) => Array.from(engine.forward(secondStored, engine.quantizeInput(second, Array.from(pixels.subarray(n * 40, (n + 1) * 40), (p) => p / 255)))[1])));
    for (const [args, msg] of [
      [['image', 'second.hwb', '--build', 'eie', '-o', 'second.hwb'], /is the bundle second\.hwb: writing it would destroy the input/],
      [['image', 'second.hwb', '--build', '.', '-o', 'x.img'], /cannot read build manifest .*manifest\.json: no such file/],
      [['image', 'xnor.hwb', '--build', 'eie', '-o', 'x.img'], /carries the eie engine; xnor\.hwb is for the XNOR engine/],
    ] as const) {
      const r = hwgen(...args);
      expect(r.err).toMatch(msg);
      expect(r.code).not.toBe(0);
    }
    expect(existsSync(at('x.img'))).toBe(false);
    // An image for another build.
    writeFileSync(at('other.hwb'), encodeBundle(eieBundle()));
    expect(hwgen('build', '--target', 'sim', '--model', 'other.hwb', '--pes', '3', '-o', 'other').code).toBe(0);
    refused([tty, 'load', '../other/model.img'], /the image is for build [0-9a-f]{8}; the board carries build [0-9a-f]{8}/);
  }, 600_000);

  it('the Zynq DMA bridge (hwgen_dma.c) against a register-level model of the AXI DMA, behind a TCP listener: hwgen run over tcp: is bit-exact', async () => {
    const made = expectCClientMakes(at('eie'), true);
    madeDirs.push(made);
    expect(existsSync(join(made, 'hwgen-bridge'))).toBe(true);
    const model = join(made, 'axi_dma_model');
    const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c99', '-pedantic', `-I${made}`, '-o', model, join(import.meta.dirname, '../../test/c/axi_dma_model.c'), join(made, 'hwgen_dma.c')], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);
    const probe = createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((res) => probe.close(res));
    // socat runs the DMA model (and through it the board) for the one client the run is.
    children.push(spawn('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `EXEC:${model} ${at('eie/model')} +verilator+rand+reset+2`], { stdio: 'ignore' }));
    await new Promise((res) => setTimeout(res, 300));
    const r = rng(8);
    writeFileSync(at('xd.npy'), encodeNpy({ dtype: 'f4', shape: [7, 40], data: Float32Array.from({ length: 280 }, () => r()) }));
    const run = hwgen('run', '--device', `tcp:127.0.0.1:${port}`, '--model', 'eie.hwb', '--input', 'xd.npy', '-o', 'yd.npy', '--raw', '--json');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out).golden.match).toBe(true);
    expect(JSON.parse(run.out).load.verifiedMemories).toBeGreaterThan(3);
  }, 600_000);

  it('XNOR: binary inputs packed as bits and threshold outputs as bits, through the same client, equal to the golden model', async () => {
    const given = binaryBundle('binary', 'threshold');
    const { tty, client } = await board('xnor', given);
    const engine = engineFor(given);
    const { bundle: stored } = engine.plan(given, {});
    expect(client(tty, 'load').code).toBe(0);
    const r = rng(6);
    const x = Int32Array.from({ length: 4 * 37 }, () => (r() < 0.5 ? 1 : 0));
    writeFileSync(at('xb.i32'), Buffer.from(x.buffer));
    const run = client('-i', tty, 'run', '../xb.i32', '../xo.i32');
    expect([run.err, run.code]).toEqual(['', 0]);
    const last = stored.layers.length - 1;
    expect(int32s(at('xo.i32'))).toEqual([0, 1, 2, 3].flatMap((n) => Array.from(engine.forward(stored, x.subarray(n * 37, (n + 1) * 37))[last])));
  }, 600_000);
});

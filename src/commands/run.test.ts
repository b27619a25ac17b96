/**
 * hwgen info / load / run as a user runs them: a separate process, a board built by `hwgen build --target sim`,
 * real files in and out, every output compared here with the golden model.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../compress/compress.js';
import { engineFor } from '../engines/registry.js';
import { encodeBundle, readAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODELS } from '../model/default-models.js';
import { encodeNpy, parseNpy } from '../model/npy.js';
import { DEFAULT_NUMERIC, type Bundle } from '../model/types.js';
import { argmax } from '../train/kernels.js';
import { runHwgen } from '../../test/helpers/cli.js';
import { fashionMnistDir } from '../../test/helpers/fashion-mnist.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';

let dir: string;
const hwgen = (...args: string[]) => runHwgen(dir, args);
const at = (f: string) => join(dir, f);
let bundle: Bundle;

function net(seed: number, rows: number, cols: number): Bundle {
  const r = rng(seed);
  const layers = [
    { name: 'fc1', rows, cols, weight: gaussianMatrix(r, rows * cols, 0.3), bias: gaussianMatrix(r, rows, 0.1), relu: true },
    { name: 'fc2', rows: 9, cols: rows, weight: gaussianMatrix(r, 9 * rows, 0.3), relu: false },
  ];
  return compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hwgen-run-'));
  bundle = net(1, 24, 40);
  writeFileSync(at('m.hwb'), encodeBundle(bundle));
  writeFileSync(at('big.hwb'), encodeBundle(net(2, 64, 300)));
  const r = rng(3);
  writeFileSync(at('x.npy'), encodeNpy({ dtype: 'f4', shape: [6, 40], data: Float32Array.from(gaussianMatrix(r, 240), Math.abs) }));
  writeFileSync(at('x39.npy'), encodeNpy({ dtype: 'f4', shape: [2, 39], data: new Float32Array(78) }));
  writeFileSync(at('xint.npy'), encodeNpy({ dtype: 'i4', shape: [2, 40], data: new Int32Array(80) }));
  const built = hwgen('build', '--target', 'sim', '--model', 'm.hwb', '-o', 'board');
  expect(built.err).toBe('');
  expect(built.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hwgen info / load / run on a simulated board', () => {
  it('info tells the build; load streams the bundle; run writes what the golden model computes', () => {
    const info = hwgen('info', '--device', 'sim:board', '--json');
    expect(info.code).toBe(0);
    const id = JSON.parse(info.out);
    const engine = engineFor(bundle);
    const { bundle: stored, config } = engine.plan(bundle, {});
    expect([id.engine, id.configHash, id.maxPayloadWords]).toEqual(['eie', engine.configHash(config), 256]);
    expect(hwgen('info', '--device', 'sim:board').out).toMatch(/^sim:board: EIE engine [0-9a-f]{8} \(2 PEs, queue depth 8\)/);

    const load = hwgen('load', '--device', 'sim:board', '--model', 'm.hwb', '--json');
    expect(load.err).toBe('');
    expect(load.code).toBe(0);
    const l = JSON.parse(load.out);
    expect(l.frames).toBeGreaterThan(1);
    expect(l.link.retries).toBe(0);
    expect(l.link.payloadEfficiency).toBeGreaterThan(0.9);
    expect(l.link.payloadEfficiency).toBeLessThan(1);
    // Every memory the load wrote (pointers, entries, codebook, biases, ... per PE) was read back by checksum.
    expect(l.verifiedMemories).toBeGreaterThanOrEqual(4);

    const run = hwgen('run', '--device', 'sim:board', '--model', 'm.hwb', '--input', 'x.npy', '--output', 'y.npy', '--raw');
    expect(run.err).toBe(''); // no progress bar: stderr is not a terminal
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/ran 6 input\(s\) in .*: every output equals the golden model/);
    expect(run.out).toMatch(/board: \d+ cycles per inference on average/);
    expect(run.out).toMatch(/link: [\d,]+ bytes sent in [\d,]+ requests in [\d.]+ s \(.*\), payload efficiency \d+\.\d%, 0 retries/);
    const y = parseNpy(readFileSync(at('y.npy')), 'y.npy');
    expect([y.dtype, y.shape]).toEqual(['i4', [6, 9]]);
    const x = parseNpy(readFileSync(at('x.npy')), 'x.npy').data as Float32Array;
    for (let n = 0; n < 6; n++) {
      const want = engine.forward(stored, engine.quantizeInput(bundle, x.subarray(n * 40, (n + 1) * 40)));
      expect(Array.from((y.data as Int32Array).subarray(n * 9, (n + 1) * 9))).toEqual(Array.from(want[1]));
    }
  });

  it('refuses a bad URL, a missing device, a bundle for another engine or too big, and bad inputs, with what to do', () => {
    const refused = (args: string[], code: number, msg: RegExp) => {
      const r = hwgen(...args);
      expect(r.err).toMatch(msg);
      expect(r.code).toBe(code);
    };
    refused(['info', '--device', 'usb:1.2.3.4'], 2, /device 'usb:1\.2\.3\.4': expected serial:PATH or xdma:PATH or sim:DIR or tcp:HOST:PORT/);
    refused(['info', '--device', 'tcp:1.2.3.4'], 2, /device 'tcp:1\.2\.3\.4': expected HOST:PORT with a port from 1 to 65535/);
    refused(['info', '--device', 'sim:no-board'], 1, /sim:no-board: no simulator model there .*build one with hwgen build --target sim/);
    refused(['load', '--device', 'sim:board', '--model', DEFAULT_MODELS.xnor], 1, /the board carries the EIE engine; this bundle is for the XNOR engine/);
    refused(['load', '--device', 'sim:board', '--model', 'big.hwb'], 1, /does not fit the hardware/);
    // Inputs are checked before the device is opened: a device that does not exist is never reached.
    refused(['run', '--device', 'sim:no-board', '--model', 'm.hwb', '--input', 'x39.npy', '-o', 'y39.npy'], 1, /x39\.npy: inputs have shape \(2, 39\); the first layer takes 40 values per input/);
    refused(['run', '--device', 'sim:no-board', '--model', 'm.hwb', '--input', 'xint.npy'], 1, /xint\.npy: inputs are dtype i4; give float32 values/);
    refused(['run', '--device', 'sim:no-board', '--model', 'm.hwb', '--input', 'x.npy', '--labels', 'x.npy'], 1, /x\.npy: not a valid IDX file/);
    refused(['run', '--device', 'sim:board', '--model', 'm.hwb', '--input', 'x.npy', '-o', 'x.npy'], 2, /--output x\.npy is --input x\.npy/);
    expect(existsSync(at('y39.npy'))).toBe(false);
  });
});

describe('a board that keeps its memories between processes (a serial link to a running model)', () => {
  it('run finds by checksum that the board holds the model and sends nothing but the inputs; a board holding another does get it', async () => {
    expect(spawnSync('socat', ['-V']).status, "socat is missing: install Debian's 'socat' package").toBe(0);
    const tty = at('tty');
    // ignoreeof: the model lives on when one hwgen process closes the port, as a board does.
    const socat = spawn('socat', [`pty,raw,echo=0,link=${tty},ignoreeof`, `EXEC:${at('board/model')} +verilator+rand+reset+2`], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(tty); i++) await new Promise((r) => setTimeout(r, 20));
      const device = `serial:${tty}`;
      const first = hwgen('run', '--device', device, '--model', 'm.hwb', '--input', 'x.npy', '--json');
      expect(first.code).toBe(0);
      expect(JSON.parse(first.out).load.verifiedMemories).toBeGreaterThan(0);
      const again = hwgen('run', '--device', device, '--model', 'm.hwb', '--input', 'x.npy', '--json');
      expect(again.code).toBe(0);
      const r = JSON.parse(again.out);
      expect([r.load, r.golden.match]).toEqual([null, true]);
      expect(hwgen('run', '--device', device, '--model', 'm.hwb', '--input', 'x.npy').out).toMatch(/the board already holds m\.hwb .*not loaded again/);
      // Another bundle for the same build: its checksums differ, so it is loaded.
      writeFileSync(at('m2.hwb'), encodeBundle(net(4, 24, 40)));
      const other = hwgen('run', '--device', device, '--model', 'm2.hwb', '--input', 'x.npy', '--json');
      expect(other.code).toBe(0);
      expect(JSON.parse(other.out).load.model).toBe('m2.hwb');
    } finally {
      socat.kill();
    }
  }, 300_000);
});

describe('hwgen run with the default model on Fashion-MNIST files', () => {
  it('reads gzipped IDX images and labels directly; every output equals the golden model; the accuracy is the golden model\'s', () => {
    const n = 200;
    const data = fashionMnistDir();
    const images = gunzipSync(readFileSync(join(data, 't10k-images-idx3-ubyte.gz')));
    const labels = gunzipSync(readFileSync(join(data, 't10k-labels-idx1-ubyte.gz')));
    // The first n of each, with the count in the header changed: still the IDX format.
    const head = (b: Buffer, header: number, per: number) => {
      const out = Buffer.from(b.subarray(0, header + n * per));
      out.writeUInt32BE(n, 4);
      return gzipSync(out);
    };
    writeFileSync(at('images.idx.gz'), head(images, 16, 784));
    writeFileSync(at('labels.idx.gz'), head(labels, 8, 1));
    // 4 PEs: the build the Fashion-MNIST engine test uses, so the model cache holds it.
    expect(hwgen('build', '--target', 'sim', '--pes', '4', '-o', 'lenet').code).toBe(0);
    const r = hwgen('run', '--device', 'sim:lenet', '--input', 'images.idx.gz', '--labels', 'labels.idx.gz', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.golden.match).toBe(true);
    expect(res.inferences).toBe(n);
    expect(res.load.model).toBe(DEFAULT_MODELS.eie);
    const given = readAnyBundle(DEFAULT_MODELS.eie);
    const engine = engineFor(given);
    const stored = engine.plan(given, { pes: 4 }).bundle;
    let right = 0;
    for (let i = 0; i < n; i++) {
      const x = Float64Array.from(images.subarray(16 + i * 784, 16 + (i + 1) * 784), (v) => v / 255);
      const out = engine.forward(stored, engine.quantizeInput(given, x));
      right += argmax(out[out.length - 1]) === labels[8 + i] ? 1 : 0;
    }
    expect(res.accuracy).toBe(right / n);
    expect(res.accuracy).toBeGreaterThan(0.8);
    expect(res.cyclesPerInference).toBeGreaterThan(1000);
    // 784 inputs in frames of 256 words: three full frames, then the input's rest with the RUN and the output's READ.
    expect(res.requestsPerInference).toBe(4);
  }, 300_000);
});

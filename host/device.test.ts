import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianMatrix, rng } from '../test/helpers/random.js';
import { compressModel } from '../src/compress/compress.js';
import { engineFor } from '../src/engines/registry.js';
import { renderShell, SHELL_TOP } from '../src/shell/rtl.js';
import { DEFAULT_NUMERIC, type AnyBundle } from '../src/model/types.js';
import type { ShellConfig } from '../src/shell/config.js';
import { buildModel } from '../sim/verilator.js';
import { Device, VerifyError, type MemoryCheck } from './device.js';
import { binarizeModel } from '../src/compress/binarize.js';
import { gaussian } from '../test/helpers/random.js';
import { MEM, OP, addressWord, header } from '../src/protocol/command-set.js';
import type { Command } from '../src/protocol/command-words.js';
import type { FloatLayer } from '../src/model/types.js';
import { openTransport } from './open.js';
import { faulty } from './fault-proxy.js';

/**
 * What a verify that resolved still has to show (it resolves only when every check is ok, so asserting ok proves
 * nothing): every memory the load's WRITE commands name was checked, each copy over at least one item.
 */
function expectEveryMemoryChecked(checks: MemoryCheck[], bundle: AnyBundle): void {
  const engine = engineFor(bundle);
  const names = new Map(Object.entries(MEM).map(([name, code]) => [code as number, name]));
  const load = engine.loadCommands(bundle, engine.plan(bundle, {}).config).filter((c) => c.op === OP.WRITE);
  expect(new Set(checks.map((c) => c.mem))).toEqual(new Set(load.map((c) => names.get((c.words[0] >>> 16) & 0xff))));
  expect(checks.filter((c) => c.items === 0 || !c.ok)).toEqual([]);
}

/** The device URL of the shell + engine model built for `bundle` (the simulator a board would be). */
function simDevice(bundle: AnyBundle, shell: Partial<ShellConfig>): string {
  const engine = engineFor(bundle);
  const model = buildModel({ files: renderShell(engine, engine.plan(bundle, {}).config, shell), top: SHELL_TOP, stream: 'bytes' });
  return `sim:${dirname(model.binary)}`;
}

describe('the driver on the real shell and engine, over the sim transport', () => {
  it('identifies the build, loads a bundle in frames, and every output equals the golden model', async () => {
    const r = rng(11);
    const layers = [
      { name: 'a', rows: 20, cols: 30, weight: gaussianMatrix(r, 600, 0.3), bias: gaussianMatrix(r, 20, 0.1), relu: true },
      { name: 'b', rows: 7, cols: 20, weight: gaussianMatrix(r, 140, 0.3), relu: false },
    ];
    const { bundle } = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
    const engine = engineFor(bundle);
    const { config } = engine.plan(bundle, {});
    const dev = await Device.open(simDevice(bundle, { maxPayloadWords: 64 }));
    try {
      const info = await dev.info();
      expect([info.engine, info.configHash, info.maxPayloadWords]).toEqual(['eie', engine.configHash(config), 64]);
      // nothing loaded yet: the memories hold what they started with
      await expect(dev.verify(bundle)).rejects.toThrow(VerifyError);
      const load = await dev.load(bundle);
      expect(load.frames).toBeGreaterThan(3);
      const checks = await dev.verify(bundle);
      expectEveryMemoryChecked(checks, bundle);
      expect(checks.map((c) => `${c.mem}${c.pe ?? ''}`).sort()).toEqual(['BIAS0', 'BIAS1', 'CODEBOOK0', 'CODEBOOK1', 'LAYER', 'PTR0', 'PTR1', 'SPMAT0', 'SPMAT1']);
      for (let n = 0; n < 5; n++) {
        const x = engine.quantizeInput(bundle, Array.from(gaussianMatrix(r, 30, 1)));
        const { output, cycles } = await dev.run(x);
        expect(output).toEqual(engine.forward(bundle, x)[1]);
        expect(cycles).toBeGreaterThan(0);
      }
    } finally {
      await dev.close();
    }
  });

  it('with 0.1% and 1% of the bytes dropped, flipped or doubled both ways, loads and runs bit-exact over several seeds', async () => {
    const r = rng(12);
    const layers = [
      { name: 'a', rows: 24, cols: 40, weight: gaussianMatrix(r, 960, 0.3), bias: gaussianMatrix(r, 24, 0.1), relu: true },
      { name: 'b', rows: 6, cols: 24, weight: gaussianMatrix(r, 144, 0.3), relu: false },
    ];
    const { bundle } = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
    const engine = engineFor(bundle);
    const url = simDevice(bundle, { maxPayloadWords: 128, idleTimeoutCycles: 4000 });
    // 0.1% and 1% of the bytes, each over several seeds.
    for (const [seed, rate] of [[1, 0.001], [2, 0.001], [3, 0.001], [4, 0.01], [5, 0.01], [6, 0.01]]) {
      // A short timeout: the model answers in milliseconds, and a lost byte costs one timeout.
      const dev = Device.over(faulty(await openTransport(url), { seed: seed, rate }), { timeoutMs: 100, tries: 40 });
      try {
        await dev.load(bundle);
        for (let n = 0; n < 3; n++) {
          const x = engine.quantizeInput(bundle, Array.from(gaussianMatrix(r, 40, 1)));
          expect((await dev.run(x)).output).toEqual(engine.forward(bundle, x)[1]);
        }
        expect((await dev.verify(bundle)).every((c) => c.ok)).toBe(true);
        // A few kilobytes each way meet a fault at 0.1% too: the retries show the faults were there.
        expect(dev.linkStats.retries).toBeGreaterThan(0);
      } finally {
        await dev.close();
      }
    }
  }, 300_000);

  it('the far end killed in the middle of a load: a clear error, no hang; a fresh open and load recover', async () => {
    const r = rng(13);
    // Large enough for a hundred frames or more, so many are still to go when the model dies after the first.
    const layers = [{ name: 'a', rows: 120, cols: 200, weight: gaussianMatrix(r, 24000, 0.3), relu: false }];
    const { bundle } = compressModel({ source: 't', layers }, { density: 0.5, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
    const engine = engineFor(bundle);
    const url = simDevice(bundle, { maxPayloadWords: 32 });
    const dev = await Device.open(url, { timeoutMs: 300 });
    let killed = false;
    const t0 = performance.now();
    await expect(
      dev.load(bundle, {
        onProgress: () => {
          if (!killed) {
            killed = true;
            spawnSync('pkill', ['-KILL', '-f', join(url.slice('sim:'.length), 'model')]);
          }
        },
      }),
    ).rejects.toThrow(/the simulator (exited \(SIGKILL\)|stopped)/);
    expect(performance.now() - t0).toBeLessThan(10_000);
    await dev.close();
    const again = await Device.open(url);
    try {
      expect((await again.load(bundle)).frames).toBeGreaterThan(100);
      const x = engine.quantizeInput(bundle, Array.from(gaussianMatrix(r, 200, 1)));
      expect((await again.run(x)).output).toEqual(engine.forward(bundle, x)[0]);
    } finally {
      await again.close();
    }
  });

  it('refuses, before sending anything, a bundle for another engine or one that does not fit the board', async () => {
    const r = rng(14);
    const small = compressModel({ source: 't', layers: [{ name: 'a', rows: 8, cols: 8, weight: gaussianMatrix(r, 64), relu: false }] },
      { density: 0.5, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
    const big = compressModel({ source: 't', layers: [{ name: 'a', rows: 64, cols: 64, weight: gaussianMatrix(r, 4096), relu: false }] },
      { density: 0.5, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
    const dev = await Device.open(simDevice(small, { maxPayloadWords: 32 }));
    try {
      await dev.info();
      const sent = dev.linkStats.bytesSent;
      await expect(dev.load(big)).rejects.toThrow(/does not fit the hardware/);
      expect(dev.linkStats.bytesSent).toBe(sent);
      await expect(dev.run(new Int32Array(8))).rejects.toThrow(/no bundle is loaded/);
    } finally {
      await dev.close();
    }
  });

  it('verify names the memory and PE a raw write changed, agrees while runs share the link, and passes again after a load', async () => {
    const r = rng(11);
    const layers = [
      { name: 'a', rows: 20, cols: 30, weight: gaussianMatrix(r, 600, 0.3), bias: gaussianMatrix(r, 20, 0.1), relu: true },
      { name: 'b', rows: 7, cols: 20, weight: gaussianMatrix(r, 140, 0.3), relu: false },
    ];
    // the first test's bundle and shell: the same model from the cache
    const { bundle } = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
    const engine = engineFor(bundle);
    const dev = await Device.open(simDevice(bundle, { maxPayloadWords: 64 }));
    try {
      await dev.load(bundle);
      // runs and a verify at once: the board takes one COMMAND at a time, and neither disturbs the other
      const xs = Array.from({ length: 3 }, () => engine.quantizeInput(bundle, Array.from(gaussianMatrix(r, 30, 1))));
      const [runs, checks] = await Promise.all([dev.runBatch(xs), dev.verify(bundle)]);
      expect(runs.map((y) => Array.from(y.output))).toEqual(xs.map((x) => Array.from(engine.forward(bundle, x)[1])));
      expectEveryMemoryChecked(checks, bundle);
      // one bit of PE 1's sparse matrix, SRAM word 3
      const spmat = engine.memories(engine.plan(bundle, {}).config).memories.find((m) => m.mem === 'SPMAT')!;
      const itemWords = Math.ceil(spmat.read!.bits / 32);
      const [item] = await dev.commands([{ op: OP.READ, respWords: itemWords, words: [header(OP.READ, MEM.SPMAT, 1), addressWord(1, 3)] }]);
      const poke: Command = { op: OP.WRITE, respWords: 0, words: [header(OP.WRITE, MEM.SPMAT, 1), addressWord(1, 3), (item[0] ^ 0x10) >>> 0, ...item.subarray(1)] };
      await dev.commands([poke]);
      const err = await dev.verify(bundle).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyError);
      expect((err as VerifyError).message).toMatch(/the board's SPMAT of PE 1 differs from the bundle \(SPMAT of PE 1 at addresses 0\.\.\d+: checksum 0x[0-9a-f]{8}, the bundle's 0x[0-9a-f]{8}\): load the bundle again/);
      expect((err as VerifyError).checks.filter((c) => !c.ok).map((c) => [c.mem, c.pe])).toEqual([['SPMAT', 1]]);
      await dev.load(bundle);
      expect((await dev.verify(bundle)).every((c) => c.ok)).toBe(true);
    } finally {
      await dev.close();
    }
  });

  it('XNOR units: verify passes after a load, and names a PE copy or the one layer table when one word differs', async () => {
    // shell-sim's XNOR case (src/shell/shell-sim.test.ts): the same bundle, config and shell, so the same model
    const r = rng(12);
    const sizes = [40, 24, 10];
    const layers: FloatLayer[] = sizes.slice(1).map((rows, l) => ({
      name: `fc${l}`, rows, cols: sizes[l], weight: gaussianMatrix(r, rows * sizes[l], 0.4), bias: gaussianMatrix(r, rows, 0.4), relu: l === 0,
      bn: {
        gamma: Float64Array.from({ length: rows }, () => 0.5 + r()), beta: Float64Array.from({ length: rows }, () => gaussian(r)),
        mean: Float64Array.from({ length: rows }, () => gaussian(r)), variance: Float64Array.from({ length: rows }, () => 0.5 + r()), eps: 1e-5,
      },
    }));
    const bundle = binarizeModel({ source: 't', layers }, { numeric: { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 }, firstInput: 'fixed', lastOutput: 'scores' });
    const engine = engineFor(bundle);
    const derived = engine.plan(bundle, {}).config;
    const config = engine.validateConfig({ ...derived, maxLayers: 4 }, 'test config');
    const model = buildModel({ files: renderShell(engine, config, { maxPayloadWords: 512, idleTimeoutCycles: 300, clockHz: 12_000_000 }), top: SHELL_TOP, stream: 'bytes' });
    const dev = await Device.open(`sim:${dirname(model.binary)}`);
    try {
      await dev.load(bundle);
      const checks = await dev.verify(bundle);
      expectEveryMemoryChecked(checks, bundle);
      expect(new Set(checks.map((c) => c.mem))).toEqual(new Set(['LAYER', 'XWEIGHT', 'XPARAM', 'XALPHA']));
      const x = engine.quantizeInput(bundle, Array.from({ length: 40 }, () => gaussian(r)));
      expect((await dev.run(x)).output).toEqual(engine.forward(bundle, x).at(-1));
      for (const [mem, pe, name] of [[MEM.XALPHA, 1, 'XALPHA of PE 1'], [MEM.LAYER, 0, 'LAYER']] as const) {
        const [[word]] = await dev.commands([{ op: OP.READ, respWords: 1, words: [header(OP.READ, mem, 1), addressWord(pe, 2)] }]);
        await dev.commands([{ op: OP.WRITE, respWords: 0, words: [header(OP.WRITE, mem, 1), addressWord(pe, 2), (word ^ 1) >>> 0] }]);
        await expect(dev.verify(bundle)).rejects.toThrow(new RegExp(`the board's ${name} differs from the bundle`));
        await dev.load(bundle);
      }
      expect((await dev.verify(bundle)).every((c) => c.ok)).toBe(true);
    } finally {
      await dev.close();
    }
  });
});

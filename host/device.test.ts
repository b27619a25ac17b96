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
import { Device } from './device.js';
import { openTransport } from './open.js';
import { faulty } from '../test/helpers/link-doubles.js';

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
      const load = await dev.load(bundle);
      expect(load.frames).toBeGreaterThan(3);
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
      const dev = Device.over(faulty(await openTransport(url), seed, rate), { timeoutMs: 100, tries: 40 });
      try {
        await dev.load(bundle);
        for (let n = 0; n < 3; n++) {
          const x = engine.quantizeInput(bundle, Array.from(gaussianMatrix(r, 40, 1)));
          expect((await dev.run(x)).output).toEqual(engine.forward(bundle, x)[1]);
        }
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
});

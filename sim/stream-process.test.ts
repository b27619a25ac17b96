import { describe, expect, it } from 'vitest';
import { gaussianMatrix, rng } from '../test/helpers/random.js';
import { compressModel } from '../src/compress/compress.js';
import { configForBundle } from '../src/engines/eie/config.js';
import { renderEie } from '../src/engines/eie/rtl.js';
import { STATUS, parseStatus } from '../src/protocol/command-set.js';
import { bundleForward, quantizeInput } from '../src/golden/eie.js';
import { inputCommands, loadCommands, readCommands } from '../src/engines/eie/image.js';
import { runCommand } from '../src/protocol/command-words.js';
import { StreamProcess } from './stream-process.js';
import { buildModel } from './verilator.js';

describe('a model spoken to one command at a time', () => {
  it('loads, runs and reads back through the harness interactively, answering each command before the next is sent', async () => {
    const r = rng(21);
    const layers = [
      { name: 'a', rows: 11, cols: 9, weight: gaussianMatrix(r, 99, 0.4), bias: gaussianMatrix(r, 11, 0.2), relu: true },
      { name: 'b', rows: 5, cols: 11, weight: gaussianMatrix(r, 55, 0.4), relu: false },
    ];
    const numeric = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };
    const { bundle } = compressModel({ source: 't', layers }, { density: 0.5, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric });
    const config = configForBundle(bundle);
    const sim = new StreamProcess(buildModel({ files: renderEie(config), top: 'eie_top' }).binary);
    try {
      for (const cmd of loadCommands(bundle, config)) expect(parseStatus((await sim.command(cmd.words))[0]).status).toBe(STATUS.OK);
      for (let n = 0; n < 3; n++) {
        const x = quantizeInput(Array.from(gaussianMatrix(r, 9, 1)), numeric);
        for (const cmd of inputCommands(x, config)) await sim.command(cmd.words);
        const run = await sim.command(runCommand(2).words);
        expect(run[1]).toBeGreaterThan(0); // cycles
        const y = await sim.command(readCommands(5, config)[0].words);
        expect(Int32Array.from(y.subarray(1), (v) => v | 0)).toEqual(bundleForward(bundle, x)[1]);
      }
    } finally {
      expect(await sim.close()).toBeGreaterThan(0);
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../../test/helpers/targets.js';
import { xnorConfigForBundle } from '../engines/xnor/config.js';
import { engineFor } from '../engines/registry.js';
import { readAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODELS } from '../model/default-models.js';
import { DEFAULT_SHELL } from '../shell/config.js';
import { AXI_TOP, renderAxiTop } from './axi.js';
import { blockRam18, estimateXilinx } from './estimate.js';
import { FLATTEN_UP_TO_PES, XILINX_PARTS, xilinxCounts } from './xilinx.js';

const work = mkdtempSync(join(tmpdir(), 'hwgen-estimate-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const shell = DEFAULT_SHELL;
const part = XILINX_PARTS.xc7z020;

// yosys 0.23 synth_xilinx -family xc7 of the default models behind the AXI top (`npm run bench -- targets`,
// rows above 16 hierarchical): the baseline the estimate must stay within 10% of, and its block RAM equal.
const BENCH = {
  eie: [
    [1, 2680, 1600, 27, 2], [2, 3399, 1788, 30, 3], [4, 5307, 2164, 42, 5], [8, 8303, 3286, 50, 9], [16, 14997, 5620, 82, 17],
    [32, 27223, 13232, 66, 33], [64, 52193, 24744, 130, 66],
  ],
  xnor: [
    [1, 3979, 2469, 38, 3], [2, 5490, 2783, 38, 5], [4, 7829, 3438, 42, 9], [8, 12035, 4827, 42, 17], [16, 21956, 8012, 34, 32],
    [32, 45343, 13772, 66, 65], [64, 88203, 25497, 130, 129],
  ],
} as const;

function buildOf(model: 'eie' | 'xnor', n: number) {
  const bundle = readAnyBundle(DEFAULT_MODELS[model]);
  const engine = engineFor(bundle);
  const config = bundle.engine === 'xnor' ? xnorConfigForBundle(bundle, { pe: n, simd: 64, bwnLanes: 16 }) : engine.withPes(bundle, engine.plan(bundle, {}).config, n)!.config;
  return { engine, config };
}

describe('the resource estimate', () => {
  it('counts the block RAMs yosys maps the memories to: single-port ones as wide as simple dual-port, small ones in LUT RAM', () => {
    // One memory at a time: 4096 x 80 (the 1-PE sparse matrix) takes 9 RAMB36 of 4K x 9, 512 x 80 three RAMB18
    // of 512 x 36, 128 x 80 LUT RAM (cheaper than the three RAMB18), 1024 x 16 with two ports one RAMB18.
    expect(blockRam18({ width: 80, depth: 4096, ports: 'sp' }, 'xc7')).toBe(18);
    expect(blockRam18({ width: 80, depth: 512, ports: 'sp' }, 'xc7')).toBe(3);
    expect(blockRam18({ width: 80, depth: 128, ports: 'sp' }, 'xc7')).toBe(0);
    expect(blockRam18({ width: 16, depth: 1024, ports: 'dp' }, 'xc7')).toBe(1);
    expect(blockRam18({ width: 32, depth: 64, ports: 'sdp' }, 'xcup')).toBe(0);
  });

  for (const model of ['eie', 'xnor'] as const) {
    it(`is within 10% of yosys on every row of bench/targets for the ${model} default model, block RAM exact`, () => {
      for (const [n, lut, ff, bram, dsp] of BENCH[model]) {
        const { engine, config } = buildOf(model, n);
        const e = estimateXilinx(engine, config, shell, 'xc7', part, n > FLATTEN_UP_TO_PES ? 'hierarchical' : 'flat')!;
        expect(e.BRAM18.used, `${model} ${n}: RAMB18`).toBe(bram);
        expect(Math.abs(e.LUT.used / lut - 1), `${model} ${n}: LUT ${e.LUT.used} vs ${lut}`).toBeLessThan(0.1);
        expect(Math.abs(e.FF.used / ff - 1), `${model} ${n}: FF ${e.FF.used} vs ${ff}`).toBeLessThan(0.1);
        expect(Math.abs(e.DSP.used - dsp), `${model} ${n}: DSP ${e.DSP.used} vs ${dsp}`).toBeLessThanOrEqual(Math.max(1, 0.1 * dsp));
      }
    });
  }

  it("is within 10% of yosys for the XNOR engine's derived config (4 rows x 32 lanes, 16 BWN lanes)", () => {
    // yosys 0.23, xc7, flattened: 7,074 LUT, 3,176 FF, 42 RAMB18, 9 DSP.
    const bundle = readAnyBundle(DEFAULT_MODELS.xnor);
    const engine = engineFor(bundle);
    const { config } = engine.plan(bundle, {});
    expect(engine.describe(config)).toBe('4 rows x 32 lanes');
    const e = estimateXilinx(engine, config, shell, 'xc7', part, 'flat')!;
    expect(e.BRAM18.used).toBe(42);
    expect(Math.abs(e.LUT.used / 7074 - 1)).toBeLessThan(0.1);
    expect(Math.abs(e.FF.used / 3176 - 1)).toBeLessThan(0.1);
    expect(e.DSP.used).toBe(9);
  });

  it('is within 10% of a real yosys run of a small build it was not fitted to (the tiny model, 4 PEs)', () => {
    const bundle = readAnyBundle(tinyModel(work));
    const engine = engineFor(bundle);
    const { config } = engine.plan(bundle, { pes: 4 });
    const y = xilinxCounts(renderAxiTop(engine, config, shell), AXI_TOP, 'xc7');
    const e = estimateXilinx(engine, config, shell, 'xc7', part, 'flat')!;
    expect(e.BRAM18.used).toBe(y.bram18);
    expect(Math.abs(e.LUT.used / y.luts - 1), `LUT ${e.LUT.used} vs ${y.luts}`).toBeLessThan(0.1);
    expect(Math.abs(e.FF.used / y.ffs - 1), `FF ${e.FF.used} vs ${y.ffs}`).toBeLessThan(0.1);
    expect(Math.abs(e.DSP.used - y.dsp)).toBeLessThanOrEqual(1);
  }, 600_000);
});

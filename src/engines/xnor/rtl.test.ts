import { describe, expect, it } from 'vitest';
import { synthXilinx } from '../../gen/synth.js';
import { validateXnorConfig, type XnorConfig } from './config.js';
import { compressorTree, renderXnor, xnorWidths } from './rtl.js';

const NUMERIC = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };
function config(o: Partial<XnorConfig>): XnorConfig {
  return validateXnorConfig(
    { ...NUMERIC, pe: 4, simd: 32, bwnLanes: 0, maxCols: 1024, maxRows: 128, weightDepth: 1024, paramDepth: 64, maxLayers: 2, ...o },
    'test config',
  );
}

/** The popcount module of a build alone, as yosys maps it for the 7 series. */
function popcountLuts(simd: number) {
  const files = renderXnor(config({ pe: 4, simd }));
  return synthXilinx(new Map([['xnor_popcount.v', files.get('xnor_popcount.v')!]]), 'xnor_popcount');
}

describe('generated XNOR RTL', () => {
  it('is deterministic: the same config gives byte-identical files', () => {
    for (const o of [{}, { pe: 8, simd: 64, bwnLanes: 8 }, { pe: 1, simd: 8, maxCols: 3 }]) {
      expect([...renderXnor(config(o)).entries()]).toEqual([...renderXnor(structuredClone(config(o))).entries()]);
    }
  });

  it('accumulates a binary-only build in log2(K + 1) unsigned bits, a BWN build with a sign', () => {
    expect(xnorWidths(config({ maxCols: 1024 })).ACC_W).toBe(11);
    expect(xnorWidths(config({ maxCols: 1023 })).ACC_W).toBe(10);
    expect(xnorWidths(config({ maxCols: 3 })).ACC_W).toBe(6); // never narrower than one fold's count, 0..32
    expect(xnorWidths(config({ maxCols: 1024, bwnLanes: 4 })).ACC_SIGNED).toBe(true);
    expect(xnorWidths(config({ maxCols: 1024 })).ACC_SIGNED).toBe(false);
  });

  it('builds the popcount tree with the same register stages as the adder tree and no bit above the count', () => {
    for (const [n, outW, stages] of [[8, 4, 2], [32, 6, 3], [128, 8, 4], [1024, 11, 5]]) {
      const t = compressorTree(n, outW, stages);
      expect(new Set(t.nodes.filter((x) => x.reg).map((x) => x.name.split('_')[0])).size, `${n} lanes`).toBe(stages);
      expect(t.nodes.every((x) => !/^l\d+_(\d+)_/.test(x.name) || Number(/^l\d+_(\d+)_/.exec(x.name)![1]) < outW)).toBe(true);
    }
  });

  it('maps a popcount of S lanes with its XNOR to about 1.3 LUT6 per lane (yosys xc7)', () => {
    // Measured with yosys 0.23: 171 LUTs at S = 128 (the adder tree of 1-bit adds took 233 without the XNOR, 361 with).
    const r = popcountLuts(128);
    expect(r.luts).toBeLessThanOrEqual(180);
    expect(r.latches).toBe(0);
  }, 300_000);
});

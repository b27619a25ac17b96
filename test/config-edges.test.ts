import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from './helpers/random.js';
import { compressModel } from '../src/compress/compress.js';
import { binarizeModel } from '../src/compress/binarize.js';
import { CONFIG_LIMITS, validateConfig, type EieConfig } from '../src/engines/eie/config.js';
import { XNOR_CONFIG_LIMITS, validateXnorConfig, type XnorConfig } from '../src/engines/xnor/config.js';
import { renderEie } from '../src/engines/eie/rtl.js';
import { renderXnor } from '../src/engines/xnor/rtl.js';
import { quantizeInput } from '../src/golden/eie.js';
import { LIMITS } from '../src/model/limits.js';
import { layerInputs } from '../src/model/layout.js';
import type { BatchNorm, FloatLayer, NumericFormat } from '../src/model/types.js';
import { lintModel } from '../sim/verilator.js';
import { simulate } from '../host/simulate.js';

/**
 * Every documented edge of every config field (docs/eie.md, docs/xnor.md, src/model/limits.ts) generates Verilog
 * that lints clean and computes bit-exact. A few configs cover all edges between them; `uncovered` checks that no
 * field's minimum or maximum is left out. 64 PEs and 1024 lanes are linted only (their models build for a minute or
 * more): 256 lanes are simulated here, and the engines' own suites simulate up to 16 (EIE) and 4 (XNOR) PEs.
 */
type Edges<C> = { name: string; config: C; sim: boolean }[];

// accBits holds at least one product (src/model/limits.ts), so its least is the two least widths' sum.
const FORMAT_LIMITS = {
  actBits: LIMITS.actBits, weightBits: LIMITS.weightBits, accBits: [LIMITS.actBits[0] + LIMITS.weightBits[0], LIMITS.accBits[1]] as const,
};

/** Fields whose minimum or maximum no config of `edges` reaches. */
function uncovered<C extends object>(edges: Edges<C>, limits: Record<string, readonly [number, number]>): string[] {
  const missing: string[] = [];
  for (const [k, [lo, hi]] of Object.entries(limits)) {
    const values = edges.map((e) => (e.config as Record<string, number>)[k]);
    if (!values.includes(lo)) missing.push(`${k} = ${lo}`);
    if (!values.includes(hi)) missing.push(`${k} = ${hi}`);
  }
  return missing;
}

const EIE_BASE = {
  pes: 2, vBits: 4, zBits: 4, actBits: 16, actFrac: 8, weightBits: 16, accBits: 32,
  fifoDepth: 8, entriesPerWord: 4, spmatWords: 256, ptrDepth: 64, actDepth: 16, biasDepth: 32, maxLayers: 2,
};
const eie = (name: string, o: Partial<EieConfig>, sim = true) => ({ name, config: validateConfig({ ...EIE_BASE, ...o }, name), sim });
const EIE_EDGES: Edges<EieConfig> = [
  eie('minima (one input column: ptrDepth 2)', {
    pes: 1, vBits: 1, zBits: 1, actBits: 2, actFrac: 0, weightBits: 2, accBits: 4, fifoDepth: 1, entriesPerWord: 1,
    spmatWords: 1, ptrDepth: 2, actDepth: 1, biasDepth: 1, maxLayers: 1,
  }),
  eie('widest entries and formats', {
    vBits: 8, zBits: 8, actBits: 16, actFrac: 15, weightBits: 32, accBits: 48, fifoDepth: 64, entriesPerWord: 16, maxLayers: 16,
  }),
  eie('deepest memories, 32-bit activations', {
    pes: 1, actBits: 32, actFrac: 16, weightBits: 16, accBits: 48, spmatWords: CONFIG_LIMITS.spmatWords[1],
    ptrDepth: CONFIG_LIMITS.ptrDepth[1], actDepth: CONFIG_LIMITS.actDepth[1], biasDepth: CONFIG_LIMITS.biasDepth[1],
  }),
  // simulated at 16 PEs by host/simulate-eie.test.ts
  eie('64 PEs', { pes: 64, fifoDepth: 64, entriesPerWord: 16 }, false),
];

const XNOR_NUMERIC: NumericFormat = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };
const XNOR_BASE = {
  ...XNOR_NUMERIC, pe: 2, simd: 16, bwnLanes: 4, maxCols: 64, maxRows: 32, weightDepth: 64, paramDepth: 32, maxLayers: 2, bufWords: 8, inWords: 64,
};
const xnor = (name: string, o: Partial<XnorConfig>, sim = true) => ({ name, config: validateXnorConfig({ ...XNOR_BASE, ...o }, name), sim });
const XNOR_EDGES: Edges<XnorConfig> = [
  xnor('minima', {
    pe: 1, simd: 8, bwnLanes: 0, actBits: 2, actFrac: 0, weightBits: 2, accBits: 4, maxCols: 1, maxRows: 1,
    weightDepth: 1, paramDepth: 1, maxLayers: 1, bufWords: 1, inWords: 1,
  }),
  // 256 lanes: items of 8 words, the first width past the old 3-bit word counter
  xnor('256 lanes, 64 BWN lanes, 32-bit weights', { pe: 1, simd: 256, bwnLanes: 64, weightBits: 32, accBits: 48, actFrac: 7, maxLayers: 16 }),
  xnor('deepest memories, 32-bit activations', {
    pe: 1, simd: 8, bwnLanes: 8, actBits: 32, actFrac: 16, weightBits: 16, accBits: 48,
    maxCols: XNOR_CONFIG_LIMITS.maxCols[1], maxRows: XNOR_CONFIG_LIMITS.maxRows[1], weightDepth: XNOR_CONFIG_LIMITS.weightDepth[1],
    paramDepth: XNOR_CONFIG_LIMITS.paramDepth[1], bufWords: XNOR_CONFIG_LIMITS.bufWords[1], inWords: XNOR_CONFIG_LIMITS.inWords[1],
  }),
  // these build for a minute or more; host/simulate-xnor.test.ts simulates 4 PEs
  xnor('1024 lanes', { pe: 1, simd: 1024, bwnLanes: 64 }, false),
  xnor('64 PEs', { pe: 64, simd: 64, bwnLanes: 64, maxRows: 128, paramDepth: 4 }, false),
];

/** A small EIE network that fits `c`: as many layers, columns and rows as its memories allow, up to 2 x 6 x 6. */
function eieCase(c: EieConfig, seed: number) {
  const r = rng(seed);
  const layers = Math.min(2, c.maxLayers);
  const cols = Math.max(1, Math.min(6, c.ptrDepth / layers - 1, c.actDepth * c.pes));
  const rows = Math.max(1, Math.min(6, c.actDepth * c.pes, Math.floor(c.biasDepth / layers) * c.pes));
  const sizes = [cols, ...new Array(layers).fill(0).map((_, l) => (l === layers - 1 ? rows : Math.min(rows, cols)))];
  const fl: FloatLayer[] = sizes.slice(1).map((n, l) => ({
    name: `fc${l}`, rows: n, cols: sizes[l], weight: gaussianMatrix(r, n * sizes[l], 0.5), bias: gaussianMatrix(r, n, 0.5), relu: l < layers - 1,
  }));
  const numeric = { actBits: c.actBits, actFrac: c.actFrac, weightBits: c.weightBits, accBits: c.accBits };
  // Density 1 over a tiny matrix: the sparse memory must hold every entry (spmatWords x entriesPerWord).
  const density = c.spmatWords * c.entriesPerWord >= cols * rows * 2 ? 0.7 : 1;
  const bundle = compressModel({ source: 'edge', layers: fl }, { density, bits: Math.max(2, Math.min(c.vBits, 4)), sparse: { pes: c.pes, vBits: c.vBits, zBits: c.zBits }, numeric }).bundle;
  const x = Array.from({ length: 3 }, () => quantizeInput(Array.from({ length: cols }, () => (r() < 0.3 ? 0 : gaussian(r))), numeric));
  return { bundle, x };
}

function bn(r: () => number, n: number): BatchNorm {
  return {
    gamma: Float64Array.from({ length: n }, () => (r() < 0.3 ? -1 : 1) * (0.2 + r())),
    beta: Float64Array.from({ length: n }, () => gaussian(r)),
    mean: Float64Array.from({ length: n }, () => gaussian(r) * 0.2),
    variance: Float64Array.from({ length: n }, () => 0.2 + r()),
    eps: 1e-5,
  };
}

/** A small binary network that fits `c`: a BWN first layer when the build has BWN lanes, scores out when they fit. */
function xnorCase(c: XnorConfig, seed: number) {
  const r = rng(seed);
  const layers = Math.min(2, c.maxLayers);
  const cols = Math.min(c.maxCols, 40);
  const rows = Math.min(c.maxRows, 12);
  const sizes = [cols, ...new Array(layers).fill(0).map(() => rows)];
  const fl: FloatLayer[] = sizes.slice(1).map((n, l) => ({
    name: `fc${l}`, rows: n, cols: sizes[l], weight: gaussianMatrix(r, n * sizes[l]), bias: gaussianMatrix(r, n), relu: false, bn: bn(r, n),
  }));
  const numeric = { actBits: c.actBits, actFrac: c.actFrac, weightBits: c.weightBits, accBits: c.accBits };
  const bundle = binarizeModel({ source: 'edge', layers: fl }, {
    // scores need α's fractional bits in weightBits: not with 2-bit weights or activations wider than weights
    numeric, firstInput: c.bwnLanes > 0 ? 'fixed' : 'binary', lastOutput: c.weightBits > 2 && c.actBits <= c.weightBits ? 'scores' : 'threshold',
  });
  const fixed = bundle.layers[0].input === 'fixed';
  const top = 2 ** (c.actBits - 1);
  const x = Array.from({ length: 3 }, () =>
    Int32Array.from({ length: layerInputs(bundle.layers[0]) }, () => (fixed ? randInt(r, -Math.min(top, 100), Math.min(top - 1, 100)) : randInt(r, 0, 1))),
  );
  return { bundle, x };
}

const label = (e: { name: string; sim: boolean }) => `${e.name}: lints clean${e.sim ? ' and computes bit-exact' : ''}`;

describe('config edges', () => {
  it('every field of both engines is tried at its minimum and its maximum', () => {
    expect(uncovered(EIE_EDGES, { ...CONFIG_LIMITS, ...FORMAT_LIMITS, pes: LIMITS.pes, vBits: LIMITS.vBits, zBits: LIMITS.zBits })).toEqual([]);
    expect(uncovered(XNOR_EDGES, { ...XNOR_CONFIG_LIMITS, ...FORMAT_LIMITS })).toEqual([]);
    // actFrac's edges are 0 and actBits - 1
    for (const edges of [EIE_EDGES, XNOR_EDGES] as Edges<NumericFormat>[]) {
      expect(edges.some((e) => e.config.actFrac === 0)).toBe(true);
      expect(edges.some((e) => e.config.actFrac === e.config.actBits - 1)).toBe(true);
    }
  });

  it.each(EIE_EDGES.map((e) => [label(e), e] as const))('EIE, %s', (_, e) => {
    const lint = lintModel(renderEie(e.config), 'eie_top');
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);
    if (!e.sim) return;
    const { bundle, x } = eieCase(e.config, 11);
    const res = simulate(bundle, x, { config: e.config });
    expect(res.golden).toEqual({ match: true });
  });

  it.each(XNOR_EDGES.map((e) => [label(e), e] as const))('XNOR, %s', (_, e) => {
    const lint = lintModel(renderXnor(e.config), 'xnor_top');
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);
    if (!e.sim) return;
    const { bundle, x } = xnorCase(e.config, 13);
    const res = simulate(bundle, x, { config: e.config });
    expect(res.golden).toEqual({ match: true });
  });
});

import { describe, expect, it } from 'vitest';
import { engineFor } from '../engines/registry.js';
import { readAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODELS } from '../model/default-models.js';
import { DEFAULT_SHELL } from '../shell/config.js';
import { estimateXilinx } from './estimate.js';
import { CLEARLY_OVER, DEFAULT_SHARE, checkFits, defaultBuild, largestShare, type Resources, type Sizing } from './fit.js';
import { quietProgress } from './progress.js';
import type { Board, BuildContext } from './target.js';
import { FLATTEN_UP_TO_PES, XILINX_PARTS, type XilinxCapacity } from './xilinx.js';

// The default LeNet on a board of a given capacity. The estimate is the one zynq and pcie use; the measurement is
// a stand-in for yosys (minutes per build) that records which builds it was asked for and answers a factor of the
// estimate, so each test knows what "yosys" says.
const lenet = readAnyBundle(DEFAULT_MODELS.eie);
const engine = engineFor(lenet);
const shell = DEFAULT_SHELL;

function context(capacity: XilinxCapacity, pes: number | undefined): BuildContext {
  const board: Board = { title: 'test board', part: 'xc7test', clockHz: 100e6, pins: {}, capacity: { ...capacity } };
  const { bundle, config } = engine.plan(lenet, { pes });
  return { engine, bundle, config, shell, board, given: { pes }, options: {}, dir: '', outName: '', progress: quietProgress };
}

const estimate = (config: object, capacity: XilinxCapacity) =>
  estimateXilinx(engine, config, shell, 'xc7', capacity, engine.pes(config) > FLATTEN_UP_TO_PES ? 'hierarchical' : 'flat')!;

function sizing(capacity: XilinxCapacity, yosysOverEstimate: number): Sizing & { measured: number[] } {
  const measured: number[] = [];
  return {
    measured,
    measuredBy: 'the stand-in',
    estimate: (config) => estimate(config, capacity),
    async measure(_bundle, config) {
      measured.push(engine.pes(config));
      const e = estimate(config, capacity);
      return Object.fromEntries(Object.entries(e).map(([k, r]) => [k, { ...r, used: Math.round(r.used * yosysOverEstimate) }])) as Resources;
    },
  };
}

const pesOf = (c: object) => engine.pes(c);
const withPes = (n: number) => engine.withPes(lenet, engine.plan(lenet, {}).config, n)!.config;

describe('the fit check', () => {
  it('refuses a build far over the part at once, with the estimate and the largest that fits by it, synthesizing nothing', async () => {
    const small = { ...XILINX_PARTS.xc7z020, LUT: 12_000 };
    const s = sizing(small, 1);
    const ctx = context(small, 64);
    expect(largestShare(estimate(ctx.config, small))).toBeGreaterThan(CLEARLY_OVER);
    const refused = checkFits(ctx, s);
    const message = await refused.then(() => '', (e: Error) => e.message);
    expect(message).toMatch(/^EIE 64 PEs, queue depth 8 does not fit xc7test \(test board\): by the estimate LUT \d+ of 12000 \(\d+%\); the largest build that fits by the estimate is (\d+) PEs \(--pes \1\)$/);
    const largest = Number(/is (\d+) PEs/.exec(message)![1]);
    expect(largestShare(estimate(withPes(largest), small))).toBeLessThanOrEqual(1);
    expect(largestShare(estimate(withPes(largest + 1), small))).toBeGreaterThan(1);
    expect(s.measured).toEqual([]);
  });

  it('takes a build well within the part by the estimate, without synthesis', async () => {
    const s = sizing(XILINX_PARTS.xc7z020, 1);
    const fitted = await checkFits(context(XILINX_PARTS.xc7z020, 4), s);
    expect(fitted.measured).toBe(false);
    expect(fitted.resources.LUT.available).toBe(53_200);
    expect(fitted.resources.LUT.used).toBeGreaterThan(4_000);
    expect(s.measured).toEqual([]);
  });

  it('synthesizes a build near the part, and confirms the largest that fits with at most two more builds', async () => {
    // A part whose LUTs are exactly the estimate of 8 PEs: 8 is near the boundary, so yosys decides.
    const part = { ...XILINX_PARTS.xc7z020, LUT: estimate(withPes(8), XILINX_PARTS.xc7z020).LUT.used };
    const within = sizing(part, 0.98);
    expect((await checkFits(context(part, 8), within)).measured).toBe(true);
    expect(within.measured).toEqual([8]);

    // yosys 5% over the estimate: 8 PEs do not fit, the estimate's largest (7) is synthesized and fits.
    const over = sizing(part, 1.05);
    await expect(checkFits(context(part, 8), over)).rejects.toThrow(/does not fit xc7test \(test board\): LUT \d+ of \d+ \(105%\) \(the stand-in\); the largest build that fits is 7 PEs \(--pes 7\)/);
    expect(over.measured).toEqual([8, 7]);

    // yosys 25% over: 7 does not fit either; the estimate scaled by 1.25 picks one more, which fits.
    const far = sizing(part, 1.25);
    const message = await checkFits(context(part, 8), far).then(() => '', (e: Error) => e.message);
    expect(far.measured.slice(0, 2)).toEqual([8, 7]);
    expect(far.measured).toHaveLength(3);
    expect(message).toMatch(new RegExp(`the largest build that fits is ${far.measured[2]} PEs`));
    expect(largestShare(estimate(withPes(far.measured[2]), part)) * 1.25).toBeLessThanOrEqual(1);
  });

  it('defaults to the most PEs within 70% of the part by the estimate, and keeps the PEs given', () => {
    const part = XILINX_PARTS.xc7z020;
    const s = sizing(part, 1);
    const chosen = defaultBuild(context(part, undefined), s);
    const n = pesOf(chosen.config);
    expect(n).toBeGreaterThan(1);
    expect(largestShare(estimate(chosen.config, part))).toBeLessThanOrEqual(DEFAULT_SHARE);
    expect(largestShare(estimate(withPes(n + 1), part))).toBeGreaterThan(DEFAULT_SHARE);
    expect(chosen.bundle.engine === 'eie' && chosen.bundle.sparse.pes).toBe(n);
    expect(pesOf(defaultBuild(context(part, 2), s).config)).toBe(2);
    expect(s.measured).toEqual([]);
  });
});

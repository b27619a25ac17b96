import type { PartHints } from '../engines/engine.js';
import type { AnyBundle } from '../model/types.js';
import { HwgenError } from '../errors.js';
import { ESTIMATE_FIT } from './estimate-fit.js';
import type { BuildContext, BuildSummary } from './target.js';

export type Resources = NonNullable<BuildSummary['resources']>;

/** The kinds of resource a build uses more of than the part has, as "LUT 61234 of 53200 (115%)". */
export function overCapacity(res: Resources, share = 1): string[] {
  return Object.entries(res)
    .filter(([, r]) => r.available !== undefined && r.used > share * r.available)
    .map(([kind, r]) => `${kind} ${r.used} of ${r.available} (${Math.round((100 * r.used) / r.available!)}%)`);
}

/** The largest share of its part any resource takes (0.5: half of the LUTs, or of the block RAMs, ...). */
export function largestShare(res: Resources): number {
  return Math.max(0, ...Object.values(res).map((r) => (r.available ? r.used / r.available : 0)));
}

/**
 * How far the estimate may be from yosys: it is within 10% on every row it was fitted to, so an estimate more
 * than 15% over the part is refused without synthesis, one 15% under it is taken as it is, and one between is
 * synthesized to decide.
 */
export const CLEARLY_OVER = 1.15;
export const CLEARLY_UNDER = 0.85;

/** How a target sizes a build: an estimate in milliseconds (undefined: none for this engine), and a measurement. */
export interface Sizing {
  estimate(config: object): Resources | undefined;
  measure(bundle: AnyBundle, config: object): Promise<Resources>;
  /** How `measure` counts, for messages: "yosys synth_xilinx". */
  measuredBy: string;
  /**
   * The estimate counts some of the resources only (iCE40: block RAM, not logic cells): it refuses what it shows
   * clearly over, and every build it lets through is measured.
   */
  partial?: boolean;
  /** What the part offers (Target.partHints): smaller builds tried are planned for it again. */
  part?: PartHints;
}

/** The resources of the build that goes ahead, and whether a tool measured them or the estimate gave them. */
export interface Fitted {
  resources: Resources;
  measured: boolean;
}

/** What a build's summary says of its resources (BuildSummary.resources, resourcesFrom). */
export function fittedSummary(f: Fitted): { resources: Resources; resourcesFrom?: string } {
  return f.measured ? { resources: f.resources } : { resources: f.resources, resourcesFrom: `the estimate (${ESTIMATE_FIT.tool} not run: every resource under ${Math.round(CLEARLY_UNDER * 100)}% of the part)` };
}

/**
 * Refuses the build, before any long vendor step, when it does not fit the board's part; the message names what
 * overflows and the largest PE count that fits. The estimate decides what is clearly over or clearly within; only
 * a build near the part's capacity is synthesized, and the largest that fits is bracketed by the estimate and
 * confirmed by at most two synthesized builds. Without an estimate every build tried is measured.
 */
export async function checkFits(ctx: BuildContext, sizing: Sizing): Promise<Fitted> {
  const est = refuseClearlyOver(ctx, sizing);
  const complete = est && !sizing.partial;
  if (complete && largestShare(est) < CLEARLY_UNDER) return { resources: est, measured: false };
  const res = await sizing.measure(ctx.bundle, ctx.config);
  const over = overCapacity(res);
  if (!over.length) return { resources: res, measured: true };
  // A partial estimate still bounds the search: no more PEs than its count lets fit.
  const n = complete ? await largestConfirmed(ctx, sizing) : await largestMeasured(ctx, sizing, est ? largestByEstimate(ctx, sizing, 1) + 1 : ctx.engine.pes(ctx.config));
  refuse(ctx, `${over.join(', ')} (${sizing.measuredBy})`, n ? `the largest build that fits is ${pesText(n)} (${pesOption(ctx, n)})` : NONE_FITS);
}

/**
 * Refuses a build whose estimate is clearly over the part (CLEARLY_OVER), naming the largest PE count whose estimate
 * fits; needs no tool, so a target may call it before it looks for its tools. Returns the estimate.
 */
export function refuseClearlyOver(ctx: BuildContext, sizing: Pick<Sizing, 'estimate' | 'partial' | 'part'>): Resources | undefined {
  const est = sizing.estimate(ctx.config);
  if (est && largestShare(est) > CLEARLY_OVER) {
    const n = largestByEstimate(ctx, sizing, 1);
    const advice = !n ? NONE_FITS
      : sizing.partial ? `at most ${pesText(n)} can fit by the estimate (${pesOption(ctx, n)}; the rest is measured when it is built)`
      : `the largest build that fits by the estimate is ${pesText(n)} (${pesOption(ctx, n)})`;
    refuse(ctx, `by the estimate ${overCapacity(est).join(', ')}`, advice);
  }
  return est;
}

/**
 * Room for placement and timing the default build leaves: every resource at most this share of the part by the
 * estimate (Vivado's placer and router start to struggle well before a part is full).
 */
export const DEFAULT_SHARE = 0.7;

/**
 * The build to make: as given when `--pes` or a config was given, else the most PEs within DEFAULT_SHARE of the
 * part by the estimate (the model's own PE count when there is no estimate).
 */
export function defaultBuild(ctx: BuildContext, sizing: Sizing): BuildContext {
  const g = ctx.given;
  if (g.pes !== undefined || g.config || g.configFile) return ctx;
  const build = largestWithin(ctx, sizing, DEFAULT_SHARE);
  return build ? { ...ctx, ...build } : ctx;
}

/** The most PEs whose estimate keeps every resource within `share` of the part, at least one; undefined without an estimate. */
function largestWithin(ctx: BuildContext, sizing: Sizing, share: number): { bundle: AnyBundle; config: object } | undefined {
  if (!sizing.estimate(ctx.config)) return undefined;
  for (let n = ctx.engine.maxPes; n >= 1; n--) {
    const build = tryWithPes(ctx, n, sizing.part);
    const est = build && sizing.estimate(build.config);
    if (build && est && largestShare(est) <= share) return build;
  }
  return tryWithPes(ctx, 1, sizing.part);
}

/** The most PEs below the build's whose estimate fits within `share` of the part; 0 when none does. */
function largestByEstimate(ctx: Pick<BuildContext, 'engine' | 'bundle' | 'config' | 'given'>, sizing: Pick<Sizing, 'estimate' | 'part'>, share: number): number {
  for (let n = ctx.engine.pes(ctx.config) - 1; n >= 1; n--) {
    const build = tryWithPes(ctx, n, sizing.part);
    const est = build && sizing.estimate(build.config);
    if (est && largestShare(est) <= share) return n;
  }
  return 0;
}

/**
 * The largest that fits, near the boundary: the estimate's largest, synthesized; when yosys finds it over, the
 * estimate scaled by how far yosys was from it picks one more, synthesized too. Two synthesis runs at most.
 */
async function largestConfirmed(ctx: BuildContext, sizing: Sizing): Promise<number> {
  const n = largestByEstimate(ctx, sizing, 1);
  if (!n) return 0;
  const build = tryWithPes(ctx, n, sizing.part)!;
  const res = await sizing.measure(build.bundle, build.config);
  if (!overCapacity(res).length) return n;
  const m = largestByEstimate({ ...ctx, ...build }, sizing, 1 / (largestShare(res) / largestShare(sizing.estimate(build.config)!)));
  if (!m) return 0;
  const smaller = tryWithPes(ctx, m, sizing.part)!;
  return overCapacity(await sizing.measure(smaller.bundle, smaller.config)).length ? 0 : m;
}

/** The largest below `hi` that fits, by a binary search over measured builds (no estimate, or a partial one). */
async function largestMeasured(ctx: BuildContext, sizing: Sizing, hi: number): Promise<number> {
  let lo = 0;
  // Invariant: lo fits (0 stands for none), hi does not.
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const build = tryWithPes(ctx, mid, sizing.part);
    if (build && !overCapacity(await sizing.measure(build.bundle, build.config)).length) lo = mid;
    else hi = mid;
  }
  return lo;
}

function refuse(ctx: BuildContext, over: string, advice: string): never {
  const part = ctx.board ? `${ctx.board.part} (${ctx.board.title})` : 'the part';
  throw new HwgenError(`${ctx.engine.title} ${ctx.engine.describe(ctx.config)} does not fit ${part}: ${over}; ${advice}`);
}

const NONE_FITS = 'not even one PE fits: choose a larger board';
const pesText = (n: number) => `${n} PE${n > 1 ? 's' : ''}`;
const pesOption = (ctx: BuildContext, n: number) => (ctx.engine.name === 'eie' ? `--pes ${n}` : 'a --config with that pe');

function tryWithPes(ctx: Pick<BuildContext, 'engine' | 'bundle' | 'config' | 'given'>, n: number, part?: PartHints) {
  try {
    // Entries per word given on the command line are kept; else they are planned for the part again.
    return ctx.engine.withPes(ctx.bundle, ctx.config, n, ctx.given.entriesPerWord === undefined ? part : undefined);
  } catch (e) {
    if (e instanceof HwgenError) return undefined; // the bundle does not fit that build's memories
    throw e;
  }
}

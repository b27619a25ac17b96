import type { AnyBundle } from '../model/types.js';
import { HwgenError } from '../errors.js';
import type { BuildContext, BuildSummary } from './target.js';

export type Resources = NonNullable<BuildSummary['resources']>;

/** The kinds of resource a build uses more of than the part has, as "LUT 61234 of 53200 (115%)". */
export function overCapacity(res: Resources): string[] {
  return Object.entries(res)
    .filter(([, r]) => r.available !== undefined && r.used > r.available)
    .map(([kind, r]) => `${kind} ${r.used} of ${r.available} (${Math.round((100 * r.used) / r.available!)}%)`);
}

/**
 * Measures the build and refuses it, before any long vendor step, when it does not fit the board's part; the
 * message names what overflows and the largest PE count that fits (a binary search over builds measured the
 * same way). `measure` gets a build (bundle and config) and returns resources used against the part's.
 */
export async function checkFits(ctx: BuildContext, measure: (bundle: AnyBundle, config: object) => Promise<Resources>): Promise<Resources> {
  const res = await measure(ctx.bundle, ctx.config);
  const over = overCapacity(res);
  if (!over.length) return res;
  const { engine } = ctx;
  const part = ctx.board ? `${ctx.board.part} (${ctx.board.title})` : 'the part';
  let lo = 0;
  let hi = engine.pes(ctx.config);
  // Invariant: lo fits (0 stands for none), hi does not.
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const build = tryWithPes(ctx, mid);
    ctx.progress.step(`does ${mid} PE${mid > 1 ? 's' : ''} fit ${ctx.board?.part ?? 'the part'}?`);
    if (build && !overCapacity(await measure(build.bundle, build.config)).length) lo = mid;
    else hi = mid;
  }
  const advice = lo ? `the largest build that fits is ${lo} PE${lo > 1 ? 's' : ''} (${engine.name === 'eie' ? `--pes ${lo}` : 'a --config with that pe'})` : 'not even one PE fits: choose a larger board';
  throw new HwgenError(`${engine.title} ${engine.describe(ctx.config)} does not fit ${part}: ${over.join(', ')}; ${advice}`);
}

function tryWithPes(ctx: BuildContext, n: number) {
  try {
    return ctx.engine.withPes(ctx.bundle, ctx.config, n);
  } catch (e) {
    if (e instanceof HwgenError) return undefined; // the bundle does not fit that build's memories
    throw e;
  }
}

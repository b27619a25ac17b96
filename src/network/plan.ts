import { createHash } from 'node:crypto';
import type { AnyEngine, BuildOptions } from '../engines/engine.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { checkJoins, segmentOutputs } from '../model/bundle.js';
import type { AnyBundle, Network } from '../model/types.js';

/**
 * A network planned for a build, once (DESIGN.md, "Networks of segments"): per segment its engine, config and
 * the bundle as the build stores it, the boundaries between segments, and one hash that names the build.
 * Targets, host and reports take this plan instead of planning again.
 */
export interface SegmentPlan {
  engine: AnyEngine;
  config: object;
  /** The segment as this build stores it (the EIE engine re-interleaves it for the build's PEs). */
  bundle: AnyBundle;
  /** engine.configHash(config). */
  configHash: string;
}

/** Where segment `from` hands its output to segment `from + 1`. */
export interface BoundaryPlan {
  from: number;
  /** "xnor → eie": the engines either side (src/model/boundary.ts). */
  kind: string;
  /** Values that cross (segment `from`'s outputs). */
  values: number;
}

export interface NetworkPlan {
  segments: SegmentPlan[];
  boundaries: BoundaryPlan[];
  /** The planned segments as a network (what the golden model runs). */
  network: Network;
  /**
   * The build's hash: a one-segment network's is its engine's config hash, so builds and boards made before
   * networks keep their identity; several segments hash their engines, config hashes and boundary kinds in order.
   */
  hash: string;
}

/**
 * Plans every segment with its engine (segments as a reader returns them: valid; how they join is checked
 * here). `opts` is one BuildOptions for every segment, or one per segment (an
 * option an engine has no use for is refused by that engine, as for a one-engine build).
 */
export function planNetwork(net: Network, opts: BuildOptions | BuildOptions[] = {}, where = 'network'): NetworkPlan {
  const n = net.segments.length;
  if (n === 0) throw new HwgenError(`${where}: the network has no segments; a model needs at least one`);
  checkJoins(net, where);
  if (Array.isArray(opts) && opts.length !== n) {
    throw new HwgenError(`${where}: ${opts.length} sets of build options for ${n} segments; give one per segment, or one for all`);
  }
  const segments = net.segments.map((given, s): SegmentPlan => {
    const engine = engineFor(given);
    const { bundle, config } = engine.plan(given, Array.isArray(opts) ? opts[s] : opts);
    return { engine, config, bundle, configHash: engine.configHash(config) };
  });
  const boundaries = segments.slice(1).map((b, s): BoundaryPlan => ({ from: s, kind: `${segments[s].engine.name} → ${b.engine.name}`, values: segmentOutputs(segments[s].bundle) }));
  return { segments, boundaries, network: { segments: segments.map((s) => s.bundle) }, hash: planHash(segments, boundaries) };
}

function planHash(segments: SegmentPlan[], boundaries: BoundaryPlan[]): string {
  if (segments.length === 1) return segments[0].configHash;
  const canon = JSON.stringify(['network', segments.map((s) => [s.engine.name, s.configHash]), boundaries.map((b) => b.kind)]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 8);
}

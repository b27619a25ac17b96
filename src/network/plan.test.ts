import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomHybrid } from '../../test/helpers/networks.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { readAnyBundle, segmentOutputs } from '../model/bundle.js';
import type { BinaryBundle } from '../model/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import { planNetwork } from './plan.js';

describe('planNetwork', () => {
  it('plans a one-segment network as its engine does, with the engine\'s config hash (so builds and boards keep their identity)', () => {
    for (const [name, opts] of [['fashion-mnist-lenet.hwb', {}], ['fashion-mnist-lenet.hwb', { pes: 4, fifoDepth: 4 }], ['fashion-mnist-bmlp.hwb', {}]] as const) {
      const b = readAnyBundle(join(PACKAGE_ROOT, 'models', name));
      const engine = engineFor(b);
      const want = engine.plan(b, opts);
      const plan = planNetwork({ segments: [b] }, opts);
      expect(plan.segments.map((s) => [s.engine, s.config, s.bundle, s.configHash])).toEqual([[engine, want.config, want.bundle, engine.configHash(want.config)]]);
      expect(plan.hash).toBe(engine.configHash(want.config));
      expect(plan.boundaries).toEqual([]);
      expect(plan.network.segments).toEqual([want.bundle]);
    }
  });

  it('plans each segment of a hybrid with its engine and names the boundary; one hash over engines, configs and boundaries', () => {
    const net = randomHybrid(12);
    const x = net.segments[0] as BinaryBundle;
    const plan = planNetwork(net, [{}, { pes: 3 }]);
    expect(plan.segments.map((s) => s.engine.name)).toEqual(['xnor', 'eie']);
    expect(plan.segments[1].bundle.engine === 'eie' && plan.segments[1].bundle.sparse.pes).toBe(3);
    expect(plan.segments[0].bundle).toBe(x);
    expect(plan.boundaries).toEqual([{ from: 0, kind: 'xnor → eie', values: segmentOutputs(x) }]);
    expect(plan.hash).toMatch(/^[0-9a-f]{8}$/);
    expect(plan.segments.map((s) => s.configHash)).not.toContain(plan.hash);
    // deterministic, and it changes with any segment's config
    expect(planNetwork(net, [{}, { pes: 3 }]).hash).toBe(plan.hash);
    expect(planNetwork(net, [{}, { pes: 2 }]).hash).not.toBe(plan.hash);
    expect(planNetwork(net, [{}, { pes: 3, fifoDepth: 16 }]).hash).not.toBe(plan.hash);
  });

  it('refuses options that do not match the segments, and an option an engine has no use for', () => {
    const net = randomHybrid(13);
    expect(() => planNetwork(net, [{}], 'h.hwb')).toThrow(new HwgenError('h.hwb: 1 sets of build options for 2 segments; give one per segment, or one for all'));
    expect(() => planNetwork(net, { pes: 2 })).toThrow(/--pes applies to EIE bundles/);
    expect(() => planNetwork({ segments: [net.segments[1], net.segments[0]] }, {}, 'h.hwb')).toThrow(/^h\.hwb: segments 0 \(eie\) and 1 \(xnor\): .*cannot feed/);
  });
});

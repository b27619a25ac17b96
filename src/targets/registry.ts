import { HwgenError } from '../errors.js';
import type { Target } from './target.js';
import { ice40Target } from './ice40.js';
import { simTarget } from './sim.js';
import { pcieTarget } from './pcie.js';
import { zynqTarget } from './zynq.js';

/** Every target `hwgen build --target` knows, by name: one line per target. */
export const TARGETS: Record<string, Target> = {
  sim: simTarget,
  zynq: zynqTarget,
  pcie: pcieTarget,
  ice40: ice40Target,
};

export function targetNamed(name: string): Target {
  if (!Object.hasOwn(TARGETS, name)) throw new HwgenError(`--target ${name}: hwgen builds for ${Object.keys(TARGETS).join(', ')}`, 2);
  return TARGETS[name];
}

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HwgenError } from '../errors.js';
import { synthXilinx, type XilinxFamily } from '../gen/synth.js';
import { requireTools } from '../tools.js';
import { cacheDir, ensureCacheDir } from '../../sim/cache.js';
import { estimateXilinx } from './estimate.js';
import type { Resources, Sizing } from './fit.js';
import type { Board, BuildContext } from './target.js';

/** What a Xilinx part holds, in the units the resource report uses. */
export interface XilinxCapacity {
  LUT: number;
  FF: number;
  /** Block RAM in RAMB18 units (a RAMB36 holds two). */
  BRAM18: number;
  DSP: number;
}

/** The parts the Xilinx targets build for, with their capacities (the vendors' data sheets: DS190, DS891, DS180). */
export const XILINX_PARTS = {
  xc7z020: { LUT: 53_200, FF: 106_400, BRAM18: 280, DSP: 220 },
  xczu7ev: { LUT: 230_400, FF: 460_800, BRAM18: 624, DSP: 1_728 },
  xc7k325t: { LUT: 203_800, FF: 407_600, BRAM18: 890, DSP: 840 },
} as const satisfies Record<string, XilinxCapacity>;

type Counts = Pick<ReturnType<typeof synthXilinx>, 'luts' | 'ffs' | 'bram18' | 'dsp' | 'latches'>;

/**
 * yosys's counts for a design, kept in the model cache by what they were computed from (yosys's version, the
 * family, the top, every file): synthesis takes tens of seconds to minutes, and a build measures the same RTL
 * again when it searches for the largest PE count that fits, or is built again with --force.
 */
export function xilinxCounts(files: Map<string, string>, top: string, family: XilinxFamily, hierarchical = false): Counts {
  const { yosys } = requireTools('yosys');
  const h = createHash('sha256').update(JSON.stringify(['synth_xilinx', yosys, family, top, ...(hierarchical ? ['hierarchical'] : [])]));
  for (const [name, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) h.update(name).update('\0').update(text).update('\0');
  const root = cacheDir();
  const dir = join(root, 'yosys');
  const file = join(dir, `${top}-${family}${hierarchical ? '-h' : ''}-${h.digest('hex').slice(0, 24)}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Counts;
  } catch {
    // Not measured yet (or a damaged entry): measure.
  }
  const r = synthXilinx(files, top, family, hierarchical);
  const counts: Counts = { luts: r.luts, ffs: r.ffs, bram18: r.bram18, dsp: r.dsp, latches: r.latches };
  ensureCacheDir(root);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(counts));
  renameSync(tmp, file);
  return counts;
}

/**
 * Builds of more processing elements than this are measured hierarchically (each module synthesized once): a
 * flattened synthesis of 64 EIE PEs takes yosys tens of minutes, a hierarchical one minutes, and its counts
 * differ by a few percent (at 16 PEs of the default LeNet: +2.5% LUT, +9% FF; the same block RAM and DSP).
 */
export const FLATTEN_UP_TO_PES = 16;

/**
 * Resources of a Xilinx build of `pes` processing elements from `yosys synth_xilinx` for the part's family, against
 * what the part holds. Vivado's figures differ a little (its own mapping); this is the estimate a build is refused by.
 */
export function xilinxResources(files: Map<string, string>, top: string, family: XilinxFamily, capacity: Board['capacity'], pes: number): Resources {
  const r = xilinxCounts(files, top, family, pes > FLATTEN_UP_TO_PES);
  // Generated RTL never means a latch: one is a generator bug, not something to send to Vivado.
  if (r.latches) throw new HwgenError(`yosys found ${r.latches} latch${r.latches > 1 ? 'es' : ''} in ${top}: the generated RTL is wrong; please report it`);
  return {
    LUT: { used: r.luts, available: capacity.LUT },
    FF: { used: r.ffs, available: capacity.FF },
    BRAM18: { used: r.bram18, available: capacity.BRAM18 },
    DSP: { used: r.dsp, available: capacity.DSP },
  };
}

/**
 * How zynq and pcie size a build for the board's part: the estimate, and yosys on the design `render` makes with
 * `top` (the AXI top; the UART core). The estimate is fitted to the AXI top; a UART build's link adds a few
 * hundred LUTs it does not count, well within the margin that sends a build near the part to yosys.
 */
export function xilinxSizing(ctx: BuildContext, family: XilinxFamily, render: (config: object) => Map<string, string>, top: string): Sizing {
  const board = ctx.board!;
  const capacity = board.capacity as unknown as XilinxCapacity;
  return {
    measuredBy: `yosys synth_xilinx -family ${family}`,
    estimate: (config) => estimateXilinx(ctx.engine, config, ctx.shell, family, capacity, ctx.engine.pes(config) > FLATTEN_UP_TO_PES ? 'hierarchical' : 'flat'),
    async measure(_bundle, config) {
      ctx.progress.step(`synthesizing with yosys for ${board.part} (${ctx.engine.title}: ${ctx.engine.describe(config)})`);
      return xilinxResources(render(config), top, family, board.capacity, ctx.engine.pes(config));
    },
  };
}

import { synthXilinx, type XilinxFamily } from '../gen/synth.js';
import type { Resources } from './fit.js';
import type { Board } from './target.js';

/** What a Xilinx part holds, in the units the resource report uses. */
export interface XilinxCapacity {
  LUT: number;
  FF: number;
  /** Block RAM in RAMB18 units (a RAMB36 holds two). */
  BRAM18: number;
  DSP: number;
}

/**
 * Resources of a Xilinx build from `yosys synth_xilinx` for the part's family, against what the part holds.
 * Vivado's figures differ a little (its own mapping); this is the estimate a build is refused by.
 */
export function xilinxResources(files: Map<string, string>, top: string, family: XilinxFamily, capacity: Board['capacity']): Resources {
  const r = synthXilinx(files, top, family);
  return {
    LUT: { used: r.luts, available: capacity.LUT },
    FF: { used: r.ffs, available: capacity.FF },
    BRAM18: { used: r.bram18, available: capacity.BRAM18 },
    DSP: { used: r.dsp, available: capacity.DSP },
  };
}

/** The parts the Xilinx targets build for, with their capacities (the vendors' data sheets: DS190, DS891, DS180). */
export const XILINX_PARTS = {
  xc7z020: { LUT: 53_200, FF: 106_400, BRAM18: 280, DSP: 220 },
  xczu7ev: { LUT: 230_400, FF: 460_800, BRAM18: 624, DSP: 1_728 },
  xc7k325t: { LUT: 203_800, FF: 407_600, BRAM18: 890, DSP: 840 },
} as const satisfies Record<string, XilinxCapacity>;

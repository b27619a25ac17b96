import { hugeBlocks, type AnyEngine, type PartHints, type RamShape } from '../engines/engine.js';
import type { XilinxFamily } from '../gen/synth.js';
import type { ShellConfig } from '../shell/config.js';
import { shellResourceShape } from '../shell/rtl.js';
import { ESTIMATE_FIT, type LinearFit } from './estimate-fit.js';
import type { Resources } from './fit.js';
import type { XilinxCapacity } from './xilinx.js';

/**
 * A Xilinx build's resources in milliseconds, without synthesis: block RAM counted from the RTL's memories as
 * yosys 0.23's memory mapper places them (the costs of its libraries below), LUT, FF and DSP from coefficients
 * per engine term fitted to yosys's counts (estimate-fit.ts, which names the yosys version and the rows).
 */

/**
 * yosys's block RAMs (brams_xc4v.txt, both families): a RAMB18 and a RAMB36, their cost and widest port. A
 * memory with one port gets both of a true dual-port block side by side: as wide as a simple dual-port one.
 */
const BLOCK_RAMS = [
  { units: 1, cost: 129, bits: 1 << 14, maxWidth: { sp: 36, dp: 18, sdp: 36 } },
  { units: 2, cost: 257, bits: 1 << 15, maxWidth: { sp: 72, dp: 36, sdp: 72 } },
];
const BLOCK_WIDTHS = [1, 2, 4, 9, 18, 36, 72];

/** yosys's LUT RAMs per family (lutrams_xc5v.txt, lutrams_xcu.txt): cost per cell, (address bits, width) per port kind. */
const LUT_RAMS: Record<XilinxFamily, { cost: number; options: Record<RamShape['ports'], [number, number][]> }> = {
  xc7: { cost: 8, options: { sp: [[5, 8], [6, 4], [7, 2], [8, 1]], dp: [[5, 4], [6, 2], [7, 1]], sdp: [[5, 6], [6, 3], [5, 4], [6, 2], [7, 1]] } },
  // The 65536 x 1 single-port option is left out: synthXilinx keeps memories deeper than 256 words out of LUT RAM.
  xcup: { cost: 16, options: { sp: [[5, 16], [6, 8], [7, 4], [8, 2]], dp: [[5, 8], [6, 4], [7, 2], [8, 1]], sdp: [[5, 14], [6, 7], [5, 8], [6, 4], [7, 2], [8, 1]] } },
};

/** RAMB18 units one copy of a memory takes: 0 when LUT RAM costs yosys less (its choice, by the same costs). */
export function blockRam18(m: Pick<RamShape, 'width' | 'depth' | 'ports' | 'asyncRead'>, family: XilinxFamily): number {
  if (m.asyncRead) return 0;
  let best = { cost: Infinity, units: 0 };
  for (const b of BLOCK_RAMS) {
    for (const w of BLOCK_WIDTHS.filter((x) => x <= b.maxWidth[m.ports])) {
      const depth = b.bits / 2 ** Math.floor(Math.log2(w));
      const n = Math.ceil(m.width / w) * Math.ceil(m.depth / depth);
      if (n * b.cost < best.cost) best = { cost: n * b.cost, units: n * b.units };
    }
  }
  const lut = LUT_RAMS[family];
  for (const [abits, w] of lut.options[m.ports]) {
    // widthscale: a cell's cost is shared by the bits of its width the memory uses
    const cost = lut.cost * Math.ceil(m.depth / 2 ** abits) * (m.width / w);
    if (cost < best.cost) best = { cost, units: 0 };
  }
  return best.units;
}

/** Which synthesis the figures stand for: builds above FLATTEN_UP_TO_PES are measured hierarchically. */
export type SynthMode = 'flat' | 'hierarchical';

const linear = (fit: LinearFit, terms: Record<string, number>) =>
  Math.round(fit.const + Object.entries(fit.per).reduce((s, [k, v]) => s + v * (terms[k] ?? 0), 0));

/**
 * The estimate for the engine's build behind the shell (the AXI top of zynq and pcie), against the part's
 * capacity; undefined for an engine without coefficients for the family (its builds are synthesized instead).
 */
export function estimateXilinx(engine: AnyEngine, config: object, shell: ShellConfig, family: XilinxFamily, capacity: XilinxCapacity, mode: SynthMode): Resources | undefined {
  const shape = engine.resourceShape(config);
  const fits = ESTIMATE_FIT.engines[engine.name]?.[family]?.[mode];
  if (!fits) return undefined;
  const bram = [...shape.memories, ...shellResourceShape(shell)].reduce((s, m) => s + m.copies * blockRam18(m, family), 0);
  return {
    LUT: { used: linear(fits.LUT, shape.terms), available: capacity.LUT },
    FF: { used: linear(fits.FF, shape.terms), available: capacity.FF },
    BRAM18: { used: bram, available: capacity.BRAM18 },
    DSP: { used: linear(fits.DSP, shape.terms), available: capacity.DSP },
  };
}

/**
 * yosys's iCE40 block RAM (brams.txt): a 4-kbit EBR, 2 to 16 bits wide (2048 x 2 .. 256 x 16), cost 64; a memory
 * of no more bits than that cost stays in logic (memory_libmap's default cost is a bit per logic cell).
 */
const EBR = { bits: 4096, widths: [2, 4, 8, 16], cost: 64 };

/** EBRs one copy of a memory takes on an iCE40. */
export function ebrBlocks(m: Pick<RamShape, 'width' | 'depth' | 'asyncRead'>): number {
  if (m.asyncRead || m.width * m.depth <= EBR.cost) return 0;
  return Math.min(...EBR.widths.map((w) => Math.ceil(m.width / w) * Math.ceil(m.depth / (EBR.bits / w))));
}

/**
 * What an iCE40 build's memories take, counted: EBR for the engine's and the shell's memories and the UART's FIFO,
 * SPRAM for those the part hints put in its huge RAM. Logic cells are not estimated: the target measures them.
 */
export function estimateIce40(engine: AnyEngine, config: object, shell: ShellConfig, part: PartHints, capacity: Record<string, number>, uartFifo: RamShape): Resources {
  const mems = [...engine.resourceShape(config, part).memories, ...shellResourceShape(shell), uartFifo];
  const huge = part.hugeRam;
  const res: Resources = { BRAM: { used: mems.filter((m) => !m.huge).reduce((s, m) => s + m.copies * ebrBlocks(m), 0), available: capacity.BRAM } };
  if (huge) res.SPRAM = { used: mems.filter((m) => m.huge).reduce((s, m) => s + m.copies * hugeBlocks(huge, m.width, m.depth), 0), available: capacity.SPRAM };
  return res;
}

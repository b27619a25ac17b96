import { banner, renderTemplate } from '../gen/render.js';
import { FRAME_OVERHEAD_WORDS, HEADER_WORDS_SHIFT } from '../protocol/link.js';

/** The AXI-Stream width adapter's module (docs/shell.md): 32-bit beats in front of the shell's bytes. */
export const AXIS_ADAPTER = 'hwgen_axis_adapter';

/** The adapter's Verilog file, by name; `hash` names the build in its banner. */
export function renderAxisAdapter(hash: string): Map<string, string> {
  return new Map([[`${AXIS_ADAPTER}.v`, renderTemplate('shell/hwgen_axis_adapter.v.hbs', { banner: banner(hash), OVERHEAD: FRAME_OVERHEAD_WORDS, WORDS_HI: HEADER_WORDS_SHIFT + 15, WORDS_LO: HEADER_WORDS_SHIFT })]]);
}

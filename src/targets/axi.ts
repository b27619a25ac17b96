import type { AnyEngine } from '../engines/engine.js';
import { banner, renderTemplate } from '../gen/render.js';
import { FRAME_MAGIC, IDENTITY_FIELDS } from '../protocol/link.js';
import { renderAxisAdapter } from '../shell/axis.js';
import { shellHash, type ShellConfig } from '../shell/config.js';
import { renderShell, shellIdentity } from '../shell/rtl.js';

/** The top a Zynq or PCIe block design instantiates as a module reference: AXI-Stream in and out, AXI-Lite status. */
export const AXI_TOP = 'hwgen_axi_top';

/** The AXI-Lite status registers (read-only), by word: docs/targets.md lists them. */
export function statusRegisters(engine: AnyEngine, config: object, shell: ShellConfig): { offset: string; index: number; what: string; expr: string }[] {
  const id = shellIdentity(engine, config, shell);
  const word = (name: (typeof IDENTITY_FIELDS)[number]) => `32'h${id[IDENTITY_FIELDS.indexOf(name)].toString(16).padStart(8, '0')}`;
  const regs = [
    { what: 'the link magic "HWLK": an hwgen build is there', expr: `32'h${FRAME_MAGIC.toString(16).padStart(8, '0')}` },
    { what: 'the hwgen version, as IDENTIFY tells it: major in bits 23:16, minor in 15:8, patch in 7:0', expr: word('hwgenVersion') },
    { what: "the engine's config hash, as IDENTIFY tells it", expr: word('configHash') },
    { what: 'bit 0 idle (no frame, command or reply in progress), bit 1 busy (its opposite)', expr: "{30'd0, !idle, idle}" },
  ];
  return regs.map((r, index) => ({ ...r, index, offset: (4 * index).toString(16).padStart(2, '0') }));
}

/** Every Verilog file of the AXI top: the shell and engine, the AXI-Stream adapter, the top. */
export function renderAxiTop(engine: AnyEngine, config: object, shell: ShellConfig): Map<string, string> {
  const hash = shellHash(engine.configHash(config), shell);
  return new Map([
    ...renderShell(engine, config, shell),
    ...renderAxisAdapter(hash),
    [`${AXI_TOP}.v`, renderTemplate('targets/hwgen_axi_top.v.hbs', { banner: banner(hash), registers: statusRegisters(engine, config, shell) })],
  ]);
}

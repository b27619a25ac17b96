import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HwgenError } from '../errors.js';
import type { XilinxFamily } from '../gen/synth.js';
import { banner, renderTemplate } from '../gen/render.js';
import { shellHash } from '../shell/config.js';
import { AXI_TOP, renderAxiTop, statusRegisters } from './axi.js';
import { checkFits, defaultBuild, fittedSummary } from './fit.js';
import { throughput, type Board, type BuildContext, type BuildSummary, type Target } from './target.js';
import { XILINX_PARTS, xilinxSizing } from './xilinx.js';

/** The clock the shell runs at: made from the XDMA's AXI clock by a clocking wizard. */
const SHELL_CLOCK_HZ = 100_000_000;

/**
 * The boards, as data. KC705: PCIe Gen2 x4 on its x8 edge connector (the XDMA's 128-bit interface at 125 MHz
 * carries Gen2 x4's 2 GB/s); reference clock on MGTREFCLK0 of quad 116 (U8/U7), PERST# on G25 (2.5 V bank).
 */
export const PCIE_BOARDS: Record<string, Board> = {
  kc705: {
    title: 'KC705 (Kintex-7 XC7K325T)',
    part: 'xc7k325tffg900-2',
    clockHz: SHELL_CLOCK_HZ,
    pins: { refclk_p: 'U8', refclk_n: 'U7', perst_n: 'G25' },
    capacity: XILINX_PARTS.xc7k325t,
    extra: {
      boardPart: 'xilinx.com:kc705:part0:1.6',
      family: 'xc7',
      perstStandard: 'LVCMOS25',
      cfgbvs: 'VCCO',
      configVoltage: '2.5',
      linkSpeed: '5.0_GT/s',
      linkWidth: 'X4',
      axiDataWidth: '128_bit',
      axiMHz: '125',
    },
  },
};

const extra = (board: Board, key: string): string => {
  const v = board.extra?.[key];
  if (v === undefined) throw new HwgenError(`board ${board.title} has no ${key} in its table`);
  return v;
};

export const pcieTarget: Target = {
  name: 'pcie',
  summary: 'a Vivado project for a PCIe board (KC705): the shell behind an XDMA core in AXI-Stream mode, for the xdma: device',
  boards: PCIE_BOARDS,
  defaultBoard: 'kc705',
  options: [],
  async build(given: BuildContext): Promise<BuildSummary> {
    const board = given.board!;
    const family = extra(board, 'family') as XilinxFamily;
    const sizing = xilinxSizing(given, family, (config) => renderAxiTop(given.engine, config, given.shell), AXI_TOP);
    const ctx = defaultBuild(given, sizing);
    const fitted = fittedSummary(await checkFits(ctx, sizing));

    const files = renderAxiTop(ctx.engine, ctx.config, ctx.shell);
    const hash = shellHash(ctx.engine.configHash(ctx.config), ctx.shell);
    mkdirSync(join(ctx.dir, 'rtl'));
    for (const [name, text] of files) writeFileSync(join(ctx.dir, 'rtl', name), text);
    const names = [...files.keys()];
    const width = extra(board, 'linkWidth');
    const speed = extra(board, 'linkSpeed');
    const link = `Gen${speed === '2.5_GT/s' ? 1 : speed === '5.0_GT/s' ? 2 : 3} ${width.toLowerCase()}`;
    const axiBytes = Number.parseInt(extra(board, 'axiDataWidth'), 10) / 8;
    writeFileSync(
      join(ctx.dir, 'build.tcl'),
      renderTemplate('targets/pcie/build.tcl.hbs', {
        banner: banner(hash, '#'),
        boardTitle: board.title,
        part: board.part,
        boardPart: extra(board, 'boardPart'),
        engineTitle: ctx.engine.title,
        engineDescription: ctx.engine.describe(ctx.config),
        link,
        top: AXI_TOP,
        rtl: names,
        headers: names.filter((n) => n.endsWith('.vh')),
        xdma: [
          { name: 'mode_selection', value: 'Basic' },
          { name: 'xdma_axi_intf_mm', value: 'AXI_Stream' },
          { name: 'pl_link_cap_max_link_speed', value: speed },
          { name: 'pl_link_cap_max_link_width', value: width },
          { name: 'axi_data_width', value: extra(board, 'axiDataWidth') },
          { name: 'axisten_freq', value: extra(board, 'axiMHz') },
          { name: 'ref_clk_freq', value: '100_MHz' },
          { name: 'xdma_rnum_chnl', value: '1' },
          { name: 'xdma_wnum_chnl', value: '1' },
          // BAR 0 reaches the status block (the driver's _user device).
          { name: 'axilite_master_en', value: 'true' },
          { name: 'axilite_master_size', value: '1' },
          { name: 'axilite_master_scale', value: 'Megabytes' },
          { name: 'pciebar2axibar_axil_master', value: '0x00000000' },
        ],
        axiMHz: extra(board, 'axiMHz'),
        axiBytes,
        clockMHz: SHELL_CLOCK_HZ / 1e6,
      }),
    );
    writeFileSync(
      join(ctx.dir, 'hwgen.xdc'),
      renderTemplate('targets/pcie/hwgen.xdc.hbs', {
        banner: banner(hash, '#'),
        boardTitle: board.title,
        lastLane: Number.parseInt(width.slice(1), 10) - 1,
        cfgbvs: extra(board, 'cfgbvs'),
        configVoltage: extra(board, 'configVoltage'),
        refclkP: board.pins.refclk_p,
        refclkN: board.pins.refclk_n,
        perst: board.pins.perst_n,
        perstStandard: extra(board, 'perstStandard'),
      }),
    );
    writeFileSync(join(ctx.dir, 'README.md'), readme(ctx, board, link));
    return { ...fitted, clockHz: SHELL_CLOCK_HZ, build: { bundle: ctx.bundle, config: ctx.config }, throughput: throughput(ctx, SHELL_CLOCK_HZ), next: [`cd ${ctx.outName}`, 'vivado -mode batch -source build.tcl', 'hwgen info --device xdma:/dev/xdma0'] };
  },
};

function readme(ctx: BuildContext, board: Board, link: string): string {
  const regs = statusRegisters(ctx.engine, ctx.config, ctx.shell)
    .map((r) => `| 0x${r.offset} | ${r.what} |`)
    .join('\n');
  return `# ${board.title}: ${ctx.engine.title} (${ctx.engine.describe(ctx.config)}) behind an XDMA core

Generated by hwgen for ${board.part}. An XDMA core (PCIe ${link}, AXI-Stream mode) streams the host's link frames
into the shell (host-to-card channel 0) and the shell's replies back (card-to-host channel 0, TLAST at the end of each
reply frame). The shell and the engine run at ${SHELL_CLOCK_HZ / 1e6} MHz, made from the XDMA's AXI clock.

## Build and load the bitstream

With Vivado (2020.2 or later) on the PATH:

    vivado -mode batch -source build.tcl

It creates the project in \`vivado/\` and writes \`out/hwgen.bit\`. Put the board in a PCIe slot, program
\`out/hwgen.bit\` over JTAG (Vivado's Hardware Manager), then restart the host without powering it off, or rescan
the bus (as root: \`echo 1 > /sys/bus/pci/rescan\`), so the card enumerates.

## Drive it from hwgen

Load Xilinx's XDMA driver (\`xdma.ko\` from Xilinx's dma_ip_drivers repository, \`XDMA/linux-kernel\`); it makes
\`/dev/xdma0_h2c_0\`, \`/dev/xdma0_c2h_0\` and \`/dev/xdma0_user\`. Then, as a user allowed to open them:

    hwgen info --device xdma:/dev/xdma0
    hwgen load --device xdma:/dev/xdma0 --model MODEL.hwb
    hwgen run  --device xdma:/dev/xdma0 --input x.npy

Only one process may hold a card-to-host channel open at a time.

## Status registers

\`/dev/xdma0_user\` (BAR 0) reaches the status block, read-only:

| offset | holds |
|---|---|
${regs}

\`rtl/\` holds the Verilog, \`hwgen.xdc\` the pins (reference clock, PERST#), \`manifest.json\` every file's SHA-256 with
the config and the model this was built for.
`;
}

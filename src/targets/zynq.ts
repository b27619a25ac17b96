import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HwgenError } from '../errors.js';
import type { XilinxFamily } from '../gen/synth.js';
import { banner, renderTemplate } from '../gen/render.js';
import { DEFAULT_BAUD } from '../protocol/link.js';
import { shellHash } from '../shell/config.js';
import { renderShell } from '../shell/rtl.js';
import { AXI_TOP, renderAxiTop, statusRegisters } from './axi.js';
import { checkFits, defaultBuild, fittedSummary } from './fit.js';
import { throughput, type Board, type BuildContext, type BuildSummary, type Target } from './target.js';
import { clocksPerBit, uartFiles } from './uart.js';
import { XILINX_PARTS, xilinxSizing } from './xilinx.js';

/** The modules of a --uart build: the shell behind the UART link, and the board top around it. */
const UART_CORE = 'hwgen_uart_core';
const UART_TOP = 'hwgen_uart_top';

/** The two processing systems, as a block design configures them (Vivado IP names, ports, properties). */
const PS = {
  ps7: {
    title: 'Zynq-7000 processing system (processing_system7)',
    vlnv: 'xilinx.com:ip:processing_system7',
    rule: 'xilinx.com:bd_rule:processing_system7',
    automation: 'make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"',
    properties: [
      { name: 'PCW_FPGA0_PERIPHERAL_FREQMHZ', value: '100' },
      { name: 'PCW_USE_S_AXI_HP0', value: '1' },
      { name: 'PCW_USE_FABRIC_INTERRUPT', value: '1' },
      { name: 'PCW_IRQ_F2P_INTR', value: '1' },
    ],
    clock: 'FCLK_CLK0',
    resetn: 'FCLK_RESET0_N',
    master: 'M_AXI_GP0',
    slave: 'S_AXI_HP0',
    irq: 'IRQ_F2P',
  },
  mpsoc: {
    title: 'Zynq UltraScale+ MPSoC processing system (zynq_ultra_ps_e)',
    vlnv: 'xilinx.com:ip:zynq_ultra_ps_e',
    rule: 'xilinx.com:bd_rule:zynq_ultra_ps_e',
    automation: 'apply_board_preset "1"',
    properties: [
      { name: 'PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ', value: '100' },
      // S_AXI_GP2 is the HP0 port to DDR; the second FPD master is not needed.
      { name: 'PSU__USE__S_AXI_GP2', value: '1' },
      { name: 'PSU__USE__M_AXI_GP1', value: '0' },
      { name: 'PSU__USE__IRQ0', value: '1' },
    ],
    clock: 'pl_clk0',
    resetn: 'pl_resetn0',
    master: 'M_AXI_HPM0_FPD',
    slave: 'S_AXI_HP0_FPD',
    irq: 'pl_ps_irq0',
  },
} as const;

type PsKind = keyof typeof PS;

/** The fabric clock the processing system gives the shell (PS above sets it). */
const FABRIC_CLOCK_HZ = 100_000_000;

/**
 * The boards, as data: part, Vivado board part, processing system, the part's capacity. ZedBoard takes
 * Digilent's board files (digilentinc.com:zedboard), the ones Digilent distributes for it today.
 */
export const ZYNQ_BOARDS: Record<string, Board> = {
  'pynq-z2': {
    title: 'PYNQ-Z2 (Zynq-7020)',
    part: 'xc7z020clg400-1',
    clockHz: FABRIC_CLOCK_HZ,
    // --uart: the 125 MHz oscillator on H16, PMOD JA pins 1 and 2.
    pins: { clk: 'H16', uart_rx: 'Y18', uart_tx: 'Y19' },
    capacity: XILINX_PARTS.xc7z020,
    extra: {
      boardPart: 'tul.com.tw:pynq-z2:part0:1.0', family: 'xc7', ps: 'ps7', boardFiles: "TUL's pynq-z2 board files, from the PYNQ-Z2 product page",
      oscHz: '125000000', pmod: 'PMOD JA pin 1 (uart_rx) and pin 2 (uart_tx)',
    },
  },
  zedboard: {
    title: 'ZedBoard (Zynq-7020)',
    part: 'xc7z020clg484-1',
    clockHz: FABRIC_CLOCK_HZ,
    // --uart: the 100 MHz oscillator on Y9, PMOD JA pins 1 and 2.
    pins: { clk: 'Y9', uart_rx: 'Y11', uart_tx: 'AA11' },
    capacity: XILINX_PARTS.xc7z020,
    extra: {
      boardPart: 'digilentinc.com:zedboard:part0:1.1', family: 'xc7', ps: 'ps7', boardFiles: "Digilent's vivado-boards repository",
      oscHz: '100000000', pmod: 'PMOD JA pin 1 (uart_rx) and pin 2 (uart_tx)',
    },
  },
  zcu104: {
    title: 'ZCU104 (Zynq UltraScale+ XCZU7EV)',
    part: 'xczu7ev-ffvc1156-2-e',
    clockHz: FABRIC_CLOCK_HZ,
    pins: {},
    capacity: XILINX_PARTS.xczu7ev,
    extra: { boardPart: 'xilinx.com:zcu104:part0:1.1', family: 'xcup', ps: 'mpsoc', boardFiles: 'they ship with Vivado' },
  },
};

const extra = (board: Board, key: string): string => {
  const v = board.extra?.[key];
  if (v === undefined) throw new HwgenError(`board ${board.title} has no ${key} in its table`);
  return v;
};

export const zynqTarget: Target = {
  name: 'zynq',
  summary: 'a Vivado project for a Zynq board (PYNQ-Z2, ZedBoard, ZCU104): the shell behind an AXI DMA, the Tcl to the bitstream and .hwh',
  boards: ZYNQ_BOARDS,
  defaultBoard: 'pynq-z2',
  options: ['xsa', 'uart', 'baud'],
  async build(given: BuildContext): Promise<BuildSummary> {
    if (given.options.baud !== undefined && !given.options.uart) throw new HwgenError('--baud sets the UART link speed: give it with --uart, or leave it out', 2);
    if (given.options.xsa && given.options.uart) throw new HwgenError('--xsa describes the processing system of the DMA build; the --uart build has none: leave one of them out', 2);
    if (given.options.uart) return buildUart(given);
    const board = given.board!;
    const family = extra(board, 'family') as XilinxFamily;
    const ps = PS[extra(board, 'ps') as PsKind];
    const shell = given.shell;

    const sizing = xilinxSizing(given, family, (config) => renderAxiTop(given.engine, config, shell), AXI_TOP);
    const ctx = defaultBuild(given, sizing);
    const fitted = fittedSummary(await checkFits(ctx, sizing));

    const files = renderAxiTop(ctx.engine, ctx.config, shell);
    const hash = shellHash(ctx.engine.configHash(ctx.config), shell);
    mkdirSync(join(ctx.dir, 'rtl'));
    for (const [name, text] of files) writeFileSync(join(ctx.dir, 'rtl', name), text);
    const names = [...files.keys()];
    const xsa = ctx.options.xsa === true;
    const outputs = ['hwgen.bit', 'hwgen.hwh', ...(xsa ? ['hwgen.xsa'] : [])].join(', ');
    const tcl = renderTemplate('targets/zynq/build.tcl.hbs', {
      banner: banner(hash, '#'),
      boardTitle: board.title,
      part: board.part,
      boardPart: extra(board, 'boardPart'),
      boardFiles: extra(board, 'boardFiles'),
      engineTitle: ctx.engine.title,
      engineDescription: ctx.engine.describe(ctx.config),
      psTitle: ps.title,
      ps,
      top: AXI_TOP,
      axi4: [
        axi4(`/ps/${ps.master}`, '/axi_dma/S_AXI_LITE', 'axi_dma/S_AXI_LITE', true),
        axi4(`/ps/${ps.master}`, '/hwgen/s_axi', 'hwgen/s_axi', false),
        axi4('/axi_dma/M_AXI_MM2S', `/ps/${ps.slave}`, `ps/${ps.slave}`, true),
        axi4('/axi_dma/M_AXI_S2MM', `/ps/${ps.slave}`, 'axi_dma/M_AXI_S2MM', false),
      ],
      rtl: names,
      headers: names.filter((n) => n.endsWith('.vh')),
      xsa,
      outputs,
    });
    writeFileSync(join(ctx.dir, 'build.tcl'), tcl);
    writeFileSync(join(ctx.dir, 'hwgen.xdc'), `${banner(hash, '#')}\n# No pin of the fabric is used: the processing system brings the clock, the reset and DDR, and its pins\n# come from the board preset.\n`);
    writeFileSync(join(ctx.dir, 'README.md'), readme(ctx, board, ps.title, outputs, shell));
    return { ...fitted, clockHz: FABRIC_CLOCK_HZ, build: { bundle: ctx.bundle, config: ctx.config }, throughput: throughput(ctx, FABRIC_CLOCK_HZ), next: [`cd ${ctx.outName}`, 'vivado -mode batch -source build.tcl'] };
  },
};

/** `--uart`: the shell behind a UART on PMOD pins, in the fabric alone (no processing system, no DMA). */
async function buildUart(given: BuildContext): Promise<BuildSummary> {
  const board = given.board!;
  if (!board.pins.uart_rx || !board.pins.uart_tx || !board.pins.clk || !board.extra?.oscHz) {
    const able = Object.entries(ZYNQ_BOARDS).filter(([, b]) => b.pins.uart_rx).map(([n]) => n);
    throw new HwgenError(`--uart: hwgen has no UART pins for ${board.title}; use --board ${able.join(' or --board ')}, or leave --uart out for the AXI DMA build`, 2);
  }
  const family = extra(board, 'family') as XilinxFamily;
  const baud = Number(given.options.baud ?? DEFAULT_BAUD);
  const clksPerBit = clocksPerBit(FABRIC_CLOCK_HZ, baud);
  const oscHz = Number(extra(board, 'oscHz'));
  const render = (config: object) => {
    const hash = shellHash(given.engine.configHash(config), given.shell);
    const common = { banner: banner(hash), baud, clksPerBit, clockMHz: FABRIC_CLOCK_HZ / 1e6, oscMHz: oscHz / 1e6 };
    return new Map([
      ...renderShell(given.engine, config, given.shell),
      ...uartFiles(banner(hash)),
      [`${UART_CORE}.v`, renderTemplate('targets/zynq/hwgen_uart_core.v.hbs', common)],
      [`${UART_TOP}.v`, renderTemplate('targets/zynq/hwgen_uart_top.v.hbs', common)],
    ]);
  };
  // The board top holds a Vivado clocking wizard; yosys measures what sits under it.
  const sizing = xilinxSizing(given, family, (config) => withoutTop(render(config)), UART_CORE);
  const ctx = defaultBuild(given, sizing);
  const fitted = fittedSummary(await checkFits(ctx, sizing));

  const files = render(ctx.config);
  const hash = shellHash(ctx.engine.configHash(ctx.config), ctx.shell);
  mkdirSync(join(ctx.dir, 'rtl'));
  for (const [name, text] of files) writeFileSync(join(ctx.dir, 'rtl', name), text);
  const names = [...files.keys()];
  const pmod = extra(board, 'pmod');
  writeFileSync(
    join(ctx.dir, 'build.tcl'),
    renderTemplate('targets/zynq/build-uart.tcl.hbs', {
      banner: banner(hash, '#'), boardTitle: board.title, part: board.part, boardPart: extra(board, 'boardPart'), engineTitle: ctx.engine.title,
      engineDescription: ctx.engine.describe(ctx.config), pmod, baud, rtl: names, headers: names.filter((n) => n.endsWith('.vh')),
      clockMHz: FABRIC_CLOCK_HZ / 1e6, oscMHz: oscHz / 1e6,
    }),
  );
  writeFileSync(
    join(ctx.dir, 'hwgen.xdc'),
    renderTemplate('targets/zynq/hwgen-uart.xdc.hbs', {
      banner: banner(hash, '#'), boardTitle: board.title, pmod, oscMHz: oscHz / 1e6, oscPeriod: (1e9 / oscHz).toFixed(3),
      clkPin: board.pins.clk, rxPin: board.pins.uart_rx, txPin: board.pins.uart_tx,
    }),
  );
  const url = `serial:/dev/ttyUSB0${baud === DEFAULT_BAUD ? '' : `?baud=${baud}`}`;
  writeFileSync(join(ctx.dir, 'README.md'), `# ${board.title}: ${ctx.engine.title} (${ctx.engine.describe(ctx.config)}) behind a UART

Generated by hwgen for ${board.part}. The shell and the engine run at ${FABRIC_CLOCK_HZ / 1e6} MHz from the board's
${oscHz / 1e6} MHz oscillator (a clocking wizard), in the fabric alone: no processing system is configured. The link is a
UART at ${baud} baud, 8N1, on ${pmod}.

## Build and load the bitstream

With Vivado (2020.2 or later) on the PATH:

    vivado -mode batch -source build.tcl

It creates the project in \`vivado/\` and writes \`out/hwgen.bit\`; load it over JTAG with Vivado's Hardware Manager.

## Drive it from hwgen

Wire a 3.3 V USB-UART adapter that runs at ${baud} baud (an FT232H or FT2232H does 3 Mbaud): its TX to
uart_rx, its RX to uart_tx, and ground to the PMOD's ground. Then, with the adapter's device:

    hwgen info --device ${url}
    hwgen load --device ${url} --model MODEL.hwb
    hwgen run  --device ${url} --input x.npy

\`rtl/\` holds the Verilog, \`hwgen.xdc\` the pins, \`manifest.json\` every file's SHA-256 with the config and the
model this was built for.
`);
  return {
    ...fitted, clockHz: FABRIC_CLOCK_HZ, build: { bundle: ctx.bundle, config: ctx.config }, throughput: throughput(ctx, FABRIC_CLOCK_HZ),
    next: [`cd ${ctx.outName}`, 'vivado -mode batch -source build.tcl', `hwgen info --device ${url}`],
  };
}

/** The design without its board top (which instantiates vendor IP yosys does not know). */
function withoutTop(files: Map<string, string>): Map<string, string> {
  return new Map([...files].filter(([name]) => name !== `${UART_TOP}.v`));
}

/** One AXI4 connection made by Vivado's automation (interconnect, clocks, resets): its -config and the pin it is run on. */
function axi4(master: string, slave: string, pin: string, newInterconnect: boolean): { config: string; pin: string } {
  const intc = newInterconnect ? '{New AXI Interconnect}' : '{Auto}';
  return { pin, config: `Clk_master {Auto} Clk_slave {Auto} Clk_xbar {Auto} Master {${master}} Slave {${slave}} ddr_seg {Auto} intc_ip ${intc} master_apm {0}` };
}

function readme(ctx: BuildContext, board: Board, psTitle: string, outputs: string, shell: BuildContext['shell']): string {
  const regs = statusRegisters(ctx.engine, ctx.config, shell)
    .map((r) => `| 0x${r.offset} | ${r.what} |`)
    .join('\n');
  return `# ${board.title}: ${ctx.engine.title} (${ctx.engine.describe(ctx.config)}) behind an AXI DMA

Generated by hwgen for ${board.part} (Vivado board part \`${extra(board, 'boardPart')}\`). The shell and the engine run at
${FABRIC_CLOCK_HZ / 1e6} MHz from the ${psTitle}'s fabric clock. An AXI DMA (simple mode, no scatter-gather) streams
link frames from DDR into the shell (MM2S) and its replies back to DDR (S2MM; each reply frame ends with TLAST).

## Build the bitstream

With Vivado (2020.2 or later) on the PATH and the board files installed (${extra(board, 'boardFiles')}):

    vivado -mode batch -source build.tcl

It creates the project in \`vivado/\` and writes ${outputs} to \`out/\`. PYNQ needs \`hwgen.bit\` and \`hwgen.hwh\` side by
side; ${outputs.includes('xsa') ? '`hwgen.xsa` is for Vitis or PetaLinux.' : '`hwgen build --xsa` also writes `hwgen.xsa` for Vitis or PetaLinux.'}

## What is in the block design

| cell | |
|---|---|
| \`ps\` | the ${psTitle} with the board preset |
| \`axi_dma\` | AXI DMA: MM2S → \`hwgen/s_axis\`, \`hwgen/m_axis\` → S2MM, registers on the processor's AXI-Lite, interrupts to the processor |
| \`hwgen\` | \`${AXI_TOP}\` (\`rtl/\`): the AXI-Stream adapter, the shell, the engine, and the status registers below |

The status registers (\`hwgen\`'s AXI-Lite, read-only):

| offset | holds |
|---|---|
${regs}

## Talking to it

\`c/hwgen-bridge\` (section "From C" below) runs on the board's Linux and serves the link on a TCP port: it writes
the bytes a client sends to a DMA buffer and sends them with MM2S, and returns each reply that S2MM writes (a
transfer ends at each reply's TLAST). Step by step, on a PYNQ or PetaLinux image:

1. Copy \`out/hwgen.bit\`, \`out/hwgen.hwh\` and \`c/\` to the board; load the bitstream (PYNQ:
   \`Overlay('hwgen.bit')\` in Python, or \`fpgautil -b hwgen.bit\`).
2. A DMA buffer: \`sudo modprobe u-dma-buf udmabuf0=1048576\` (the u-dma-buf kernel module).
3. \`make -C c && sudo c/hwgen-bridge -H out/hwgen.hwh\`: the DMA's register address comes from the .hwh (or
   \`-a 0x40400000\`, Vivado's usual address on a Zynq-7000; the Address Editor shows it); \`-p PORT\` (7700 by
   default) or \`-s\` to serve stdin/stdout instead.
4. From a PC: \`hwgen info --device tcp:BOARD:7700\`, then \`hwgen run --device tcp:BOARD:7700 --input x.npy\`
   (Node on the board does the same with \`tcp:127.0.0.1:7700\`). C on the board: \`sudo socat
   EXEC:'c/hwgen-bridge -s -H out/hwgen.hwh' PTY,link=/tmp/hwgen,raw,echo=0 &\`, then \`c/hwgen-client /tmp/hwgen info\`.

\`rtl/\` holds the Verilog, \`hwgen.xdc\` the constraints, \`manifest.json\` every file's SHA-256 with the config and the
model this was built for.
`;
}

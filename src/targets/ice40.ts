import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartHints, RamShape } from '../engines/engine.js';
import { HwgenError } from '../errors.js';
import { fpgaToolchain, type FpgaToolchain } from '../gen/fpga-tools.js';
import { banner, renderTemplate } from '../gen/render.js';
import type { AnyBundle } from '../model/types.js';
import { DEFAULT_BAUD } from '../protocol/link.js';
import { shellHash, type ShellConfig } from '../shell/config.js';
import { renderShell } from '../shell/rtl.js';
import { estimateIce40 } from './estimate.js';
import { checkFits, refuseClearlyOver, type Resources } from './fit.js';
import { checkPllInput, choosePll, PLL_LIMITS, type PllSetting } from './ice40-pll.js';
import type { Board, BuildContext, BuildSummary, Target } from './target.js';
import { checkBaud, clocksPerBit, MAX_BAUD_ERROR, MIN_CLKS_PER_BIT, uartFiles } from './uart.js';

/** The board top every iCE40 build has (templates/targets/ice40/hwgen_ice40.v.hbs). */
export const ICE40_TOP = 'hwgen_ice40';
/** nextpnr's placement seed: a fixed seed makes the same inputs give the same bitstream. */
const ICE40_SEED = 1;
/**
 * How far below nextpnr's Fmax the PLL clock stays: the Fmax of one placement is an estimate, and the clock
 * chosen moves the design's constants (IDENTIFY's clock, the UART's divider), so the next placement differs.
 */
const CLOCK_MARGIN = 0.13;
/** Place-and-route rounds at most: measure at the board clock, then at the chosen clock until timing holds. */
const MAX_ROUNDS = 4;
/** The UART's receive FIFO: 512 bytes are one 4-kbit block RAM, the smallest the FIFO can take anyway. */
const FIFO_AW = 9;

/**
 * The iCE40 boards, as data: part, nextpnr device and package, the pins of the oscillator and the USB UART (from
 * the boards' published PCF files), and the part's capacity in nextpnr's units.
 */
export const ICE40_BOARDS: Record<string, Board> = {
  icebreaker: {
    title: 'iCEBreaker (iCE40 UltraPlus UP5K)',
    part: 'up5k-sg48',
    clockHz: 12_000_000,
    pins: { clk: '35', uart_rx: '6', uart_tx: '9' },
    capacity: { LC: 5280, BRAM: 30, DSP: 8, SPRAM: 4 },
    // The oscillator's pin 35 feeds the PLL's pad input directly.
    extra: { device: '--up5k', package: 'sg48', pll: 'SB_PLL40_PAD', pllInput: 'PACKAGEPIN', dsp: 'yes' },
  },
  'hx8k-breakout': {
    title: 'iCE40-HX8K breakout board',
    part: 'hx8k-ct256',
    clockHz: 12_000_000,
    pins: { clk: 'J3', uart_rx: 'B10', uart_tx: 'B12' },
    capacity: { LC: 7680, BRAM: 32 },
    extra: { device: '--hx8k', package: 'ct256', pll: 'SB_PLL40_CORE', pllInput: 'REFERENCECLK', dsp: 'no' },
  },
};

/** The UltraPlus's SPRAM blocks (SB_SPRAM256KA, 16k × 16), which yosys -spram maps a memory marked "huge" to. */
const SPRAM = { style: 'huge', width: 16, depth: 16384 } as const;

/** What a board's part offers the engine: the UltraPlus's SPRAMs, where it has them. */
export function partHints(board: Board): PartHints {
  const spram = board.capacity.SPRAM;
  return spram ? { hugeRam: { ...SPRAM, count: spram } } : {};
}

/**
 * synth_ice40's options for a board's part: -dsp where it has SB_MAC16 multipliers, -spram where it has SPRAM (the
 * memories partHints marked "huge" go there).
 */
export function synthOptions(board: Board): string {
  return `${board.extra!.dsp === 'yes' ? ' -dsp' : ''}${board.capacity.SPRAM ? ' -spram' : ''}`;
}

/** nextpnr's names for what the resource report counts, by the report's names. */
const CELLS: Record<string, string> = { LC: 'ICESTORM_LC', BRAM: 'ICESTORM_RAM', DSP: 'ICESTORM_DSP', SPRAM: 'ICESTORM_SPRAM' };

export interface NextpnrReport {
  utilization: Record<string, { used: number; available: number }>;
  fmax?: Record<string, { achieved: number; constraint: number }>;
}

export interface Design {
  files: Map<string, string>;
  pcf: string;
}

export const ice40Target: Target = {
  name: 'ice40',
  summary: 'a bitstream for an iCE40 board (iCEBreaker, HX8K breakout) through yosys, nextpnr-ice40 and icepack, with the shell on the USB UART',
  boards: ICE40_BOARDS,
  defaultBoard: 'icebreaker',
  options: ['baud'],
  build: buildIce40,
  partHints,
};

async function buildIce40(ctx: BuildContext): Promise<BuildSummary> {
  const board = ctx.board!;
  const boardName = ctx.boardName!;
  const baud = ctx.options.baud === undefined ? DEFAULT_BAUD : Number(ctx.options.baud);
  checkPllInput(board.clockHz, boardName);
  // Refuse a baud no clock of this board can make before any long step (the one Fmax allows is checked below).
  checkBaud(baud);
  if (!choosePll(board.clockHz, Infinity, (hz) => bauds(hz, baud))) {
    const fastest = Math.floor(PLL_LIMITS.out[1] * 1e6 / MIN_CLKS_PER_BIT);
    throw new HwgenError(`--baud ${baud}: no clock the ${board.title}'s PLL makes (up to ${PLL_LIMITS.out[1]} MHz, and the logic is slower) gives it within ${MAX_BAUD_ERROR * 100}%; the UART needs ${MIN_CLKS_PER_BIT} clocks per bit, so at most ${fastest} baud; the default is ${DEFAULT_BAUD}`, 2);
  }

  // Block RAM is counted first, before any tool is looked for: a build clearly over the part's is refused at once.
  const part = partHints(board);
  const uartFifo: RamShape = { name: 'uart fifo', width: 8, depth: 2 ** FIFO_AW, copies: 1, ports: 'sdp' };
  const estimate = { estimate: (config: object) => estimateIce40(ctx.engine, config, ctx.shell, part, board.capacity, uartFifo), partial: true, part };
  refuseClearlyOver(ctx, estimate);

  const tools = await fpgaToolchain(['yosys', 'nextpnr-ice40', 'icepack']);
  const work = mkdtempSync(join(tmpdir(), 'hwgen-ice40-'));
  try {
    const flow = new Ice40Flow(tools, board, work, ctx);
    // 1. Does it fit? Synthesis and nextpnr's packing (no placement) count the cells of each build tried.
    // The bundle does not change the hardware: only the config does.
    const measure = async (_bundle: AnyBundle, config: object): Promise<Resources> => {
      ctx.progress.step(`synthesizing for ${board.part} with yosys (${tools.source === 'wasm' ? 'WebAssembly' : 'system'}) and packing with nextpnr-ice40: ${ctx.engine.describe(config)}`);
      const design = flow.design(config, { clockHz: board.clockHz, baud, clksPerBit: leniently(board.clockHz, baud) });
      await flow.synth(design);
      return resourcesOf(await flow.pnr(board.clockHz, 'pack'), board);
    };
    await checkFits(ctx, { ...estimate, measure, measuredBy: "cells as nextpnr-ice40 packs yosys's netlist, before placement" });

    // 2. Place and route at the board clock for nextpnr's Fmax, then choose the PLL below it and build again.
    let clock: { pll?: PllSetting; clockHz: number } = { clockHz: board.clockHz };
    let kept: { design: Design; report: NextpnrReport } | undefined;
    let fmax = 0;
    const logs: string[] = [];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const mhz = (clock.clockHz / 1e6).toFixed(2);
      const design = flow.design(ctx.config, { ...clock, baud, clksPerBit: round ? clocksPerBit(clock.clockHz, baud) : leniently(board.clockHz, baud) });
      if (round) {
        ctx.progress.step(`synthesizing for ${board.part} at ${mhz} MHz`);
        await flow.synth(design);
      }
      ctx.progress.step(`placing and routing with nextpnr-ice40 at ${mhz} MHz`);
      const report = await flow.pnr(clock.clockHz, 'route');
      logs.push(flow.lastLog);
      fmax = fmaxOf(report);
      if (round && fmax * 1e6 >= clock.clockHz) {
        kept = { design, report };
        break;
      }
      const next = choosePll(board.clockHz, fmax * 1e6 * (1 - CLOCK_MARGIN), (hz) => bauds(hz, baud));
      // The board clock itself, and the measuring build was already the final one: no second round.
      if (!round && next && !next.pll && fmax * 1e6 >= board.clockHz && leniently(board.clockHz, baud) === clocksPerBit(board.clockHz, baud)) {
        kept = { design, report };
        break;
      }
      if (!next) {
        throw new HwgenError(
          `${ctx.engine.title} ${ctx.engine.describe(ctx.config)} reaches only ${fmax.toFixed(1)} MHz on ${board.part}: no clock at most ${(fmax * (1 - CLOCK_MARGIN)).toFixed(1)} MHz makes ${baud} baud within ${MAX_BAUD_ERROR * 100}%${fmax * 1e6 < board.clockHz ? `, and the board's ${board.clockHz / 1e6} MHz is too fast; build fewer PEs` : `; choose a --baud the board clock divides (such as ${Math.round(board.clockHz / Math.max(MIN_CLKS_PER_BIT, Math.ceil(board.clockHz / baud)))})`}`,
        );
      }
      if (round === MAX_ROUNDS - 1) {
        throw new HwgenError(`nextpnr-ice40 did not meet the clock it was given after ${MAX_ROUNDS} rounds (last: ${mhz} MHz, Fmax ${fmax.toFixed(1)} MHz); build fewer PEs`);
      }
      clock = next;
    }

    // 3. The bitstream, and the files a user needs.
    ctx.progress.step('packing the bitstream with icepack');
    await tools.run('icepack', [`${ICE40_TOP}.asc`, `${ICE40_TOP}.bin`], work);
    const built = kept!; // the loop ends with a build kept, or throws
    mkdirSync(join(ctx.dir, 'rtl'));
    for (const [name, text] of built.design.files) writeFileSync(join(ctx.dir, 'rtl', name), text);
    writeFileSync(join(ctx.dir, `${ICE40_TOP}.pcf`), built.design.pcf);
    copyFileSync(join(work, `${ICE40_TOP}.bin`), join(ctx.dir, `${ICE40_TOP}.bin`));
    mkdirSync(join(ctx.dir, 'logs'));
    writeFileSync(join(ctx.dir, 'logs', 'yosys.log'), flow.synthLog);
    logs.forEach((log, i) => writeFileSync(join(ctx.dir, 'logs', i === logs.length - 1 ? 'nextpnr.log' : `nextpnr-round${i + 1}.log`), log));
    writeFileSync(join(ctx.dir, 'nextpnr-report.json'), JSON.stringify({ utilization: built.report.utilization, fmax: built.report.fmax }, null, 2) + '\n');
    const resources = resourcesOf(built.report, board);
    const url = `serial:/dev/ttyUSB1?baud=${baud}`;
    const next = [`iceprog ${ctx.outName}/${ICE40_TOP}.bin`, `hwgen info --device '${url}'`];
    writeFileSync(join(ctx.dir, 'README.md'), readme(ctx, board, boardName, baud, clock, fmax, resources, tools));
    // IDENTIFY reports the clock the board runs at: the manifest's shell says it too.
    return { resources, clockHz: clock.clockHz, fmaxMHz: fmax, next, shell: { ...ctx.shell, clockHz: clock.clockHz } };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Whether a clock makes the baud within MAX_BAUD_ERROR. */
function bauds(hz: number, baud: number): boolean {
  try {
    clocksPerBit(hz, baud);
    return true;
  } catch {
    return false;
  }
}

/** Clocks per bit for a build that only measures (the baud is checked at the clock finally chosen). */
function leniently(hz: number, baud: number): number {
  return Math.max(MIN_CLKS_PER_BIT, Math.round(hz / baud));
}

/** The clock a build runs at: the PLL setting (none: the oscillator), the UART's baud and its divider. */
export interface ClockChoice {
  pll?: PllSetting;
  clockHz: number;
  baud: number;
  clksPerBit: number;
}

/** The board top (hwgen_ice40: PLL, power-on reset, UART link, shell) and the PCF, under the build's banner. */
export function renderBoardTop(board: Board, at: ClockChoice, hash: string, engineTitle: string): { top: string; pcf: string } {
  const pll = at.pll && {
    ...at.pll,
    cell: board.extra!.pll,
    input: board.extra!.pllInput,
    divr1: at.pll.divr + 1,
    divf1: at.pll.divf + 1,
    div2q: 2 ** at.pll.divq,
  };
  const top = renderTemplate('targets/ice40/hwgen_ice40.v.hbs', {
    banner: banner(hash),
    boardTitle: board.title,
    engineTitle,
    baud: at.baud,
    clksPerBit: at.clksPerBit,
    fifoAw: FIFO_AW,
    clockMHz: (at.clockHz / 1e6).toFixed(3),
    boardMHz: board.clockHz / 1e6,
    pll,
  });
  const pcf = renderTemplate('targets/ice40/hwgen_ice40.pcf.hbs', { banner: banner(hash, '#'), boardTitle: board.title, part: board.part, pins: board.pins });
  return { top, pcf };
}

/** One build's files in a work folder, its synthesis and its place-and-route (ctx: the build, for design()). */
export class Ice40Flow {
  synthLog = '';
  lastLog = '';
  constructor(
    readonly tools: FpgaToolchain,
    readonly board: Board,
    readonly work: string,
    readonly ctx?: BuildContext,
  ) {}

  /** The Verilog and PCF of a build at a clock: shell and engine, the UART link, the board top. */
  design(config: object, at: ClockChoice): Design {
    const { engine } = this.ctx!;
    const shell: ShellConfig = { ...this.ctx!.shell, clockHz: at.clockHz };
    const hash = shellHash(engine.configHash(config), shell);
    const { top, pcf } = renderBoardTop(this.board, at, hash, `${engine.title} (${engine.describe(config)})`);
    return { files: new Map([...renderShell(engine, config, shell, partHints(this.board)), ...uartFiles(banner(hash)), [`${ICE40_TOP}.v`, top]]), pcf };
  }

  /** yosys synth_ice40 of the design's files (top: hwgen_ice40), the PCF beside them for nextpnr. */
  async synth(design: Design): Promise<void> {
    for (const [name, text] of design.files) writeFileSync(join(this.work, name), text);
    writeFileSync(join(this.work, `${ICE40_TOP}.pcf`), design.pcf);
    const sources = [...design.files.keys()].filter((n) => n.endsWith('.v')).join(' ');
    const script = `read_verilog ${sources}; synth_ice40 -top ${ICE40_TOP}${synthOptions(this.board)} -json ${ICE40_TOP}.json; tee -q -o yosys-stat.txt stat`;
    const out = await this.tools.run('yosys', ['-q', '-p', script], this.work);
    this.synthLog = `${this.tools.versions.yosys}\n${script}\n\n${out}${readFileSync(join(this.work, 'yosys-stat.txt'), 'utf8')}`;
  }

  /** nextpnr on the last synthesized netlist: packing only (to count cells), or placed and routed at `clockHz`. */
  async pnr(clockHz: number, how: 'pack' | 'route'): Promise<NextpnrReport> {
    const x = this.board.extra!;
    const args = [x.device, '--package', x.package, '--json', `${ICE40_TOP}.json`, '--pcf', `${ICE40_TOP}.pcf`, '--freq', (clockHz / 1e6).toFixed(3),
      '--seed', String(ICE40_SEED), '--report', 'report.json', ...(how === 'pack' ? ['--pack-only'] : ['--asc', `${ICE40_TOP}.asc`])];
    const log = await this.tools.run('nextpnr-ice40', args, this.work);
    this.lastLog = `${this.tools.versions['nextpnr-ice40']}\nnextpnr-ice40 ${args.join(' ')}\n\n${deterministic(log)}`;
    return JSON.parse(readFileSync(join(this.work, 'report.json'), 'utf8')) as NextpnrReport;
  }
}

/** nextpnr's log without what changes from run to run (run times), so a rebuild gives the same files. */
function deterministic(log: string): string {
  return log
    .split('\n')
    // The router's progress rows end in its batch and total seconds.
    .filter((l) => !/\b\d+(\.\d+)?\s*s(ec(onds)?)?\b|[Tt]ime:|took \d|\d+\.\d+\s+\d+\.\d+\|\s*$/.test(l))
    .join('\n');
}

/** The lowest Fmax over the clocks nextpnr timed (the design has one: the core clock). */
export function fmaxOf(r: NextpnrReport): number {
  const all = Object.values(r.fmax ?? {}).map((f) => f.achieved);
  if (!all.length) throw new HwgenError('nextpnr-ice40 reported no Fmax for the design');
  return Math.min(...all);
}

function resourcesOf(r: NextpnrReport, board: Board): Resources {
  const res: Resources = {};
  for (const [kind, cell] of Object.entries(CELLS)) {
    if (!(kind in board.capacity)) continue;
    const u = r.utilization[cell];
    res[kind] = { used: u?.used ?? 0, available: u?.available ?? board.capacity[kind] };
  }
  return res;
}

function readme(ctx: BuildContext, board: Board, boardName: string, baud: number, clock: { pll?: PllSetting; clockHz: number }, fmax: number, res: Resources, tools: FpgaToolchain): string {
  const mhz = (clock.clockHz / 1e6).toFixed(3);
  const rows = Object.entries(res).map(([k, r]) => `| ${k} | ${r.used} | ${r.available} |`).join('\n');
  return `# ${board.title}: ${ctx.engine.title} (${ctx.engine.describe(ctx.config)})

\`${ICE40_TOP}.bin\` is the bitstream: the engine inside the shell, spoken to over the board's USB UART at
${baud} baud, 8N1. It was built with yosys (\`synth_ice40\`), nextpnr-ice40 (seed ${ICE40_SEED}) and icepack
(${tools.source === 'wasm' ? 'the YoWASP WebAssembly builds' : "the system's programs"}) from \`rtl/\` and
\`${ICE40_TOP}.pcf\`; \`logs/\` holds what they printed, \`nextpnr-report.json\` nextpnr's figures.

The core clock is ${mhz} MHz (${clock.pll ? `the PLL: DIVR ${clock.pll.divr}, DIVF ${clock.pll.divf}, DIVQ ${clock.pll.divq}, from the ${board.clockHz / 1e6} MHz oscillator` : 'the oscillator itself'}); nextpnr-ice40 reports Fmax ${fmax.toFixed(1)} MHz for it.

| resource | used | of |
|---|---|---|
${rows}

Program the board (iceprog is in Debian's fpga-icestorm), then talk to it (the FTDI chip's second port is the UART):

    iceprog ${ICE40_TOP}.bin
    hwgen info --device 'serial:/dev/ttyUSB1?baud=${baud}'
    hwgen load --device 'serial:/dev/ttyUSB1?baud=${baud}' --model MODEL.hwb
    hwgen run  --device 'serial:/dev/ttyUSB1?baud=${baud}' --input x.npy

\`manifest.json\` lists every file with its SHA-256, the config and the model this was built for
(board \`${boardName}\`).
`;
}

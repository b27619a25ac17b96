import type { AnyEngine, BuildOptions, PartHints } from '../engines/engine.js';
import type { AnyBundle } from '../model/types.js';
import type { ShellConfig } from '../shell/config.js';

/**
 * What `hwgen build --target T` knows about one target, as data plus one build function: its boards (part,
 * pins, clock), the options it takes, and how it turns a planned build into the files of an output folder.
 * A new target is a file in src/targets/ plus one line in src/targets/registry.ts.
 */
export interface Target {
  name: string;
  /** One line for `hwgen build --help`. */
  summary: string;
  /** The boards it builds for, by the name `--board` takes; empty when the target has no board (sim). */
  boards: Record<string, Board>;
  /** The board used without `--board`. */
  defaultBoard?: string;
  /** The `hwgen build` options (beyond the common ones) it reads; any other given is refused. */
  options: readonly TargetOption[];
  /**
   * Writes the target's files into `ctx.dir` (an empty scratch folder that becomes the output folder only when
   * the whole build succeeded), checks the build fits the board before any long step, and says what it found.
   */
  build(ctx: BuildContext): Promise<BuildSummary>;
  /** What a board's part offers the engine beyond logic and block RAM: its plan and its RTL may use it. */
  partHints?(board: Board): PartHints;
}

/** Options only some targets read. */
export type TargetOption = 'baud' | 'xsa' | 'uart';

export interface Board {
  /** For people: "PYNQ-Z2 (Zynq-7020)". */
  title: string;
  /** The FPGA part as the vendor tools spell it: xc7z020clg400-1, up5k-sg48. */
  part: string;
  /** The clock the shell runs at on this board, in Hz (a PLL may move it: the target decides). */
  clockHz: number;
  /** Pin names by signal (clk, uart_rx, uart_tx, ...), as the board's constraints file spells them. */
  pins: Record<string, string>;
  /** What the part holds, in the units the target's resource report uses (LUT, FF, BRAM18, DSP; LC, BRAM, SPRAM). */
  capacity: Record<string, number>;
  /** Anything else the target needs (Vivado board_part, nextpnr device flag, ...). */
  extra?: Record<string, string>;
}

/** Everything a target's build gets: the build already planned and checked, and where to write. */
export interface BuildContext {
  engine: AnyEngine;
  /** The bundle as the build stores it, and the build (Engine.plan). */
  bundle: AnyBundle;
  config: object;
  /** The shell's parameters; clockHz is the board's (a target may choose another and say so). */
  shell: ShellConfig;
  board?: Board;
  boardName?: string;
  /** The build options given (`--pes`, `--config`, ...): a target may choose what was left out (zynq: the PEs). */
  given: BuildOptions;
  /** The values of the target's own options (TargetOption) that were given. */
  options: Partial<Record<TargetOption, string | number | boolean>>;
  /** The scratch folder to write into (it becomes the output folder). */
  dir: string;
  /** The output folder as the user named it (for messages; never written into a file, so folders stay identical). */
  outName: string;
  /** Say what a long step is doing (shown on a terminal, silent otherwise). */
  progress: Progress;
}

/** The figures a build reports (printed, and kept in manifest.json). */
export interface BuildSummary {
  /** Resources used and available, by kind (LUT, FF, ...), when the target measured them. */
  resources?: Record<string, { used: number; available?: number }>;
  /** Where those figures come from when a tool did not count them ("the estimate": zynq, pcie well within the part). */
  resourcesFrom?: string;
  /** The clock the build runs at, in Hz, and the Fmax a tool reported (MHz), when known. */
  clockHz?: number;
  fmaxMHz?: number;
  /** The commands a user runs next, one per line (also in DIR/README.md). */
  next: string[];
  /** The shell as built, when the target changed it from ctx.shell (ice40: the PLL's clock, which IDENTIFY reports). */
  shell?: ShellConfig;
  /** The build (the bundle as it stores it, the engine's config), when the target chose it (zynq, pcie: the most PEs that fit, without --pes). */
  build?: { bundle: AnyBundle; config: object };
  /** The build in a few words and its inputs per second at its clock by the engine's cycle model (Engine.cycleModel). */
  throughput?: { build: string; imagesPerSecond: number };
}

/** A long step's progress: `step` starts one (ending the previous), `done` ends the last. */
export interface Progress {
  step(what: string): void;
  done(): void;
}

/** The build, and its inputs per second at `clockHz` by the engine's cycle model. */
export function throughput(ctx: Pick<BuildContext, 'engine' | 'bundle' | 'config'>, clockHz: number): NonNullable<BuildSummary['throughput']> {
  return { build: `${ctx.engine.title} ${ctx.engine.describe(ctx.config)}`, imagesPerSecond: Math.round(clockHz / ctx.engine.cycleModel(ctx.bundle, ctx.config)) };
}

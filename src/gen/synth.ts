import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HwgenError } from '../errors.js';
import { requireTools, runTool } from '../tools.js';

/**
 * Resource and speed figures from the open tools: yosys for the Xilinx 7 series, yosys + nextpnr for iCE40.
 * Both run on the generated files in a scratch directory and clean it up.
 */
export interface XilinxResources {
  luts: number;
  ffs: number;
  /** Block RAM in RAMB18 units (a RAMB36 counts 2). */
  bram18: number;
  dsp: number;
  /** Distributed-RAM primitives (RAM32M, RAM64M, ...). */
  lutram: number;
  /** Latch cells (LDCE, LDPE, $_DLATCH_*): generated RTL must have none. */
  latches: number;
  /** Every cell type and its count, and what yosys printed, for checks beyond these sums. */
  cells: Record<string, number>;
  log: string;
  seconds: number;
}

export interface Ice40Result {
  logicCells: number;
  logicCellsAvailable: number;
  bram: number;
  bramAvailable: number;
  fmaxMHz: number;
  seconds: number;
}

/** The files yosys reads: an include (.vh) is found by `include from the scratch folder, never read alone. */
const sources = (files: Map<string, string>) => [...files.keys()].filter((name) => !name.endsWith('.vh')).join(' ');

function inScratch<T>(files: Map<string, string>, run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-synth-'));
  try {
    for (const [n, t] of files) writeFileSync(join(dir, n), t);
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Xilinx families yosys synthesizes for here: the 7 series, UltraScale+. */
export type XilinxFamily = 'xc7' | 'xcup';

/**
 * What runs before synth_xilinx, per family. yosys 0.23's UltraScale+ LUT-RAM rules (lutrams_xcu.txt) offer a
 * single-port 65536 x 1 LUT RAM that its own map file rejects ("invalid OPTION_ABITS/WIDTH combination"), and
 * they choose it for any single-port memory deeper than 256 words (the EIE sparse matrix and activation buffers):
 * those memories are marked for block RAM first, as the 7 series' rules (256 words at most in LUT RAM) map them.
 */
const FAMILY_PREP: Record<XilinxFamily, (top: string) => string> = {
  xc7: () => '',
  xcup: (top) => `hierarchy -top ${top}; proc; memory_collect; setattr -set ram_style "block" t:$mem_v2 r:SIZE>256 %i; `,
};

/**
 * `yosys synth_xilinx` for a family (the 7 series by default), cells summed by kind. Flattened by default, as a
 * build measures; `hierarchical` synthesizes each module once and counts its instances (minutes instead of tens
 * of minutes for 64 PEs; counts a few percent apart either way, since nothing is optimized across modules).
 */
export function synthXilinx(files: Map<string, string>, top: string, family: XilinxFamily = 'xc7', hierarchical = false): XilinxResources {
  return inScratch(files, (dir) => {
    const t0 = performance.now();
    const script = `read_verilog ${sources(files)}; ${FAMILY_PREP[family](top)}synth_xilinx -family ${family} -top ${top}${hierarchical ? '' : ' -flatten'} -noiopad; tee -q -o stat.json stat -json -top ${top}`;
    const log = runTool('yosys', ['-p', script], { cwd: dir });
    // yosys 0.23 puts the hierarchy's text inside the JSON when a design has modules: its totals are the last object.
    const stat = readFileSync(join(dir, 'stat.json'), 'utf8');
    const cells = (JSON.parse(`{${stat.slice(stat.lastIndexOf('"design":'))}`) as { design: { num_cells_by_type: Record<string, number> } }).design
      .num_cells_by_type;
    const sum = (re: RegExp) => Object.entries(cells).filter(([k]) => re.test(k)).reduce((s, [, n]) => s + n, 0);
    return {
      luts: sum(/^LUT\d/),
      ffs: sum(/^FD/),
      bram18: sum(/^RAMB18/) + 2 * sum(/^RAMB36/),
      dsp: sum(/^DSP48/),
      lutram: sum(/^RAM\d+[MSX]/),
      latches: sum(/^(LD|\$_DLATCH)/),
      cells,
      log,
      seconds: (performance.now() - t0) / 1000,
    };
  });
}

/** `synth_ice40` then `nextpnr-ice40` (I/O left to the placer): utilisation and the Fmax nextpnr reports. */
export function placeIce40(files: Map<string, string>, top: string, device = '--hx8k', pkg = 'ct256'): Ice40Result {
  requireTools('yosys', 'nextpnr-ice40');
  return inScratch(files, (dir) => {
    const t0 = performance.now();
    runTool('yosys', ['-q', '-p', `read_verilog ${sources(files)}; synth_ice40 -top ${top} -json t.json`], { cwd: dir });
    const log = runTool('nextpnr-ice40', [device, '--package', pkg, '--json', 't.json', '--asc', 't.asc', '--freq', '12', '--pcf-allow-unconstrained'], { cwd: dir });
    const use = (kind: string) => {
      const m = new RegExp(`${kind}:\\s*(\\d+)/\\s*(\\d+)`).exec(log);
      if (!m) throw new HwgenError(`nextpnr-ice40 printed no ${kind} utilisation`);
      return [Number(m[1]), Number(m[2])];
    };
    const fmax = [...log.matchAll(/Max frequency for clock [^:]*: ([\d.]+) MHz/g)].map((m) => Number(m[1]));
    if (!fmax.length) throw new HwgenError('nextpnr-ice40 printed no Max frequency');
    const [lc, lcAll] = use('ICESTORM_LC');
    const [ram, ramAll] = use('ICESTORM_RAM');
    // nextpnr reports the frequency after placement and again after routing: the last one counts.
    return { logicCells: lc, logicCellsAvailable: lcAll, bram: ram, bramAvailable: ramAll, fmaxMHz: fmax[fmax.length - 1], seconds: (performance.now() - t0) / 1000 };
  });
}

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readFileChecked } from '../atomic.js';
import { HwgenError } from '../errors.js';
import type { Ice40Result, XilinxResources } from '../gen/synth.js';

/**
 * `resources.json` in a build folder: the figures src/gen/synth.ts measures, with what the part holds
 * (docs/report.md shows an example). At least one of `xilinx` and `ice40`:
 *
 *   target     string                       the build's target ("zynq", "ice40", ...)
 *   part       string                       the FPGA part the figures are for
 *   xilinx     { used: XilinxFigures, available: { luts, ffs, bram18, dsp } }   yosys synth_xilinx
 *   ice40      Ice40Figures                 yosys synth_ice40 + nextpnr-ice40 (with Fmax)
 */
export type XilinxFigures = Pick<XilinxResources, 'luts' | 'ffs' | 'bram18' | 'dsp' | 'lutram' | 'latches'>;
export type Ice40Figures = Omit<Ice40Result, 'seconds'>;

export interface BuildResources {
  target: string;
  part: string;
  xilinx?: { used: XilinxFigures; available: Pick<XilinxFigures, 'luts' | 'ffs' | 'bram18' | 'dsp'> };
  ice40?: Ice40Figures;
}

/** One line of the resource table: what the design uses against what the part holds. */
export interface ResourceRow {
  resource: string;
  used: number;
  available?: number;
}

export const RESOURCES_FILE = 'resources.json';

const XILINX_USED: (keyof XilinxFigures)[] = ['luts', 'ffs', 'bram18', 'dsp', 'lutram', 'latches'];
const XILINX_AVAILABLE = ['luts', 'ffs', 'bram18', 'dsp'] as const;
const ICE40: (keyof Ice40Figures)[] = ['logicCells', 'logicCellsAvailable', 'bram', 'bramAvailable', 'fmaxMHz'];

/** Reads DIR/resources.json, or says plainly what is missing. */
export function readBuildResources(dir: string): BuildResources {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new HwgenError(`--build ${dir}: no such folder; give the folder a build wrote (it holds ${RESOURCES_FILE})`);
  }
  if (!isDir) throw new HwgenError(`--build ${dir}: not a folder; give the folder a build wrote (it holds ${RESOURCES_FILE})`);
  const path = join(dir, RESOURCES_FILE);
  let text: string;
  try {
    text = new TextDecoder().decode(readFileChecked(path, 'resource figures'));
  } catch (e) {
    throw new HwgenError(`${(e as Error).message}; a build folder holds ${RESOURCES_FILE} with the synthesis figures (docs/report.md)`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new HwgenError(`${path}: not JSON (${(e as Error).message}); docs/report.md shows its shape`);
  }
  return checkBuildResources(j, path);
}

export function checkBuildResources(j: unknown, where: string): BuildResources {
  const bad = (what: string): never => {
    throw new HwgenError(`${where}: ${what}; docs/report.md shows the shape of ${RESOURCES_FILE}`);
  };
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const numbers = (o: unknown, keys: readonly string[], at: string) => {
    if (!isObject(o)) bad(`"${at}" is not an object`);
    const r = o as Record<string, unknown>;
    for (const k of keys) if (typeof r[k] !== 'number' || !Number.isFinite(r[k]) || (r[k] as number) < 0) bad(`"${at}.${k}" is not a number >= 0`);
  };
  if (!isObject(j)) return bad('not a JSON object');
  for (const k of ['target', 'part']) if (typeof j[k] !== 'string' || !j[k]) bad(`"${k}" is not a non-empty string`);
  if (j.xilinx === undefined && j.ice40 === undefined) bad('neither "xilinx" nor "ice40" figures');
  if (j.xilinx !== undefined) {
    if (!isObject(j.xilinx)) bad('"xilinx" is not an object');
    const x = j.xilinx as Record<string, unknown>;
    numbers(x.used, XILINX_USED, 'xilinx.used');
    numbers(x.available, XILINX_AVAILABLE, 'xilinx.available');
  }
  if (j.ice40 !== undefined) numbers(j.ice40, ICE40, 'ice40');
  return j as unknown as BuildResources;
}

/** The resource table's rows, in a fixed order. */
export function resourceRows(r: BuildResources): ResourceRow[] {
  const rows: ResourceRow[] = [];
  if (r.xilinx) {
    const { used, available } = r.xilinx;
    rows.push(
      { resource: 'LUT', used: used.luts, available: available.luts },
      { resource: 'FF', used: used.ffs, available: available.ffs },
      { resource: 'RAMB18', used: used.bram18, available: available.bram18 },
      { resource: 'DSP48', used: used.dsp, available: available.dsp },
      { resource: 'LUTRAM', used: used.lutram },
      { resource: 'latch', used: used.latches },
    );
  }
  if (r.ice40) {
    rows.push(
      { resource: 'iCE40 LC', used: r.ice40.logicCells, available: r.ice40.logicCellsAvailable },
      { resource: 'iCE40 BRAM', used: r.ice40.bram, available: r.ice40.bramAvailable },
    );
  }
  return rows;
}

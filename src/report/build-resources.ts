import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readFileChecked } from '../atomic.js';
import { HwgenError } from '../errors.js';

/**
 * A build folder's figures, as `hwgen build` keeps them in its manifest (src/targets/build.ts, docs/targets.md):
 * the target, board and part, the engine and config hash, the resources used against the part's by kind (LUT,
 * FF, BRAM18, DSP for the Xilinx targets; LC, BRAM, DSP, SPRAM for iCE40), the clock and nextpnr's Fmax. A sim
 * build measures no resources: it has none.
 */
export interface BuildResources {
  target: string;
  board?: string;
  part?: string;
  engine: string;
  configHash: string;
  /** Resources by kind, in the manifest's order; empty when the target measured none (sim). */
  resources: Record<string, { used: number; available?: number }>;
  clockHz?: number;
  fmaxMHz?: number;
}

/** One line of the resource table: what the design uses against what the part holds. */
export interface ResourceRow {
  resource: string;
  used: number;
  available?: number;
}

/** Reads the figures of the build in `dir` from its manifest (`file`, the name `hwgen build` gives it), or says plainly what is missing. */
export function readBuildResources(dir: string, file: string): BuildResources {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new HwgenError(`--build ${dir}: no such folder; give the folder 'hwgen build -o DIR' wrote`);
  }
  if (!isDir) throw new HwgenError(`--build ${dir}: not a folder; give the folder 'hwgen build -o DIR' wrote`);
  const path = join(dir, file);
  let text: string;
  try {
    text = new TextDecoder().decode(readFileChecked(path, 'build manifest'));
  } catch (e) {
    throw new HwgenError(`${(e as Error).message}; every folder 'hwgen build' writes holds its ${file}`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new HwgenError(`${path}: not JSON (${(e as Error).message}); build the folder again with 'hwgen build'`);
  }
  return checkBuildResources(j, path);
}

export function checkBuildResources(j: unknown, where: string): BuildResources {
  const bad = (what: string): never => {
    throw new HwgenError(`${where}: ${what}; it is not the manifest of an 'hwgen build' (docs/targets.md): build the folder again`);
  };
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const isFigure = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (!isObject(j)) return bad('not a JSON object');
  for (const k of ['target', 'engine', 'configHash']) if (typeof j[k] !== 'string' || !j[k]) bad(`"${k}" is not a non-empty string`);
  for (const k of ['board', 'part']) if (j[k] !== undefined && (typeof j[k] !== 'string' || !j[k])) bad(`"${k}" is not a non-empty string`);
  for (const k of ['clockHz', 'fmaxMHz']) if (j[k] !== undefined && !isFigure(j[k])) bad(`"${k}" is not a number >= 0`);
  const res = j.resources ?? {};
  if (!isObject(res)) return bad('"resources" is not an object');
  for (const [kind, r] of Object.entries(res)) {
    if (!isObject(r)) bad(`"resources.${kind}" is not an object`);
    const x = r as Record<string, unknown>;
    if (!isFigure(x.used)) bad(`"resources.${kind}.used" is not a number >= 0`);
    if (x.available !== undefined && !isFigure(x.available)) bad(`"resources.${kind}.available" is not a number >= 0`);
  }
  const pick = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.filter((k) => j[k] !== undefined).map((k) => [k, j[k]]));
  return {
    ...(pick(['target', 'board', 'part', 'engine', 'configHash', 'clockHz', 'fmaxMHz'] as const) as Omit<BuildResources, 'resources'>),
    resources: res as BuildResources['resources'],
  };
}

/** The resource table's rows, in the manifest's order. */
export function resourceRows(r: BuildResources): ResourceRow[] {
  return Object.entries(r.resources).map(([resource, { used, available }]) => ({ resource, used, ...(available !== undefined ? { available } : {}) }));
}

import { createHash } from 'node:crypto';
import { HwgenError } from '../errors.js';
import { layerInputs } from '../golden/xnor.js';
import { checkNumeric } from '../model/limits.js';
import type { BinaryBundle, NumericFormat } from '../model/types.js';

/**
 * The XNOR units' build parameters (docs/xnor.md): P output rows in parallel, S bit lanes, B BWN lanes, the
 * number formats (must match the bundles it runs) and the memory capacities per PE. Validated on load; the
 * hash names the build.
 */
export interface XnorConfig extends NumericFormat {
  /** P: output rows computed in parallel (one PE each). */
  pe: number;
  /** S: bit lanes per fold (XNOR + popcount width); a power of two, a multiple of P. */
  simd: number;
  /** B: lanes per fold of a BWN (fixed-point input) layer, a power of two dividing S; 0 builds no BWN datapath. */
  bwnLanes: number;
  /** Largest K (inputs per output) of any layer. */
  maxCols: number;
  /** Largest M (outputs) of any layer. */
  maxRows: number;
  /** S-bit weight words per PE, over all layers. */
  weightDepth: number;
  /** Threshold / bias entries per PE, over all layers. */
  paramDepth: number;
  maxLayers: number;
}

export const XNOR_CONFIG_LIMITS = {
  pe: [1, 64],
  simd: [8, 1024],
  bwnLanes: [0, 64],
  maxCols: [1, 1 << 20],
  maxRows: [1, 1 << 20],
  weightDepth: [1, 1 << 22],
  paramDepth: [1, 1 << 22],
  maxLayers: [1, 16],
} as const;

const KEYS: (keyof XnorConfig)[] = [
  'pe', 'simd', 'bwnLanes', 'actBits', 'actFrac', 'weightBits', 'accBits',
  'maxCols', 'maxRows', 'weightDepth', 'paramDepth', 'maxLayers',
];

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

export function validateXnorConfig(raw: unknown, where: string): XnorConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HwgenError(`${where}: the config must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!(KEYS as string[]).includes(k)) throw new HwgenError(`${where}: unknown config key '${k}'; known keys: ${KEYS.join(', ')}`);
  }
  for (const k of KEYS) if (typeof obj[k] !== 'number') throw new HwgenError(`${where}: config key '${k}' is missing or not a number`);
  const c = obj as unknown as XnorConfig;
  checkNumeric(c, where);
  for (const [k, [lo, hi]] of Object.entries(XNOR_CONFIG_LIMITS)) {
    const v = c[k as keyof XnorConfig];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new HwgenError(`${where}: ${k} = ${v} is out of range; it must be an integer from ${lo} to ${hi}`);
  }
  if (!isPow2(c.simd)) throw new HwgenError(`${where}: simd = ${c.simd} must be a power of two (the popcount tree halves it)`);
  if (c.simd % c.pe !== 0) throw new HwgenError(`${where}: simd = ${c.simd} must be a multiple of pe = ${c.pe} (a group's P output bits land in one S-bit word)`);
  if (c.bwnLanes !== 0 && (!isPow2(c.bwnLanes) || c.simd % c.bwnLanes !== 0)) {
    throw new HwgenError(`${where}: bwnLanes = ${c.bwnLanes} must be 0 or a power of two dividing simd = ${c.simd}`);
  }
  if (c.weightBits > 32) throw new HwgenError(`${where}: weightBits = ${c.weightBits}; α travels in one 32-bit word, so at most 32`);
  return Object.fromEntries(KEYS.map((k) => [k, c[k]])) as unknown as XnorConfig;
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(2, n)));

/** Words of S bits per row, folds and groups of a layer on a build with P rows and S (or B) lanes. */
export function layerShape(l: { rows: number; cols: number; input: 'binary' | 'fixed' }, pe: number, simd: number, bwnLanes: number) {
  const lanes = l.input === 'fixed' ? bwnLanes : simd;
  const folds = Math.ceil(l.cols / lanes);
  return {
    lanes,
    folds,
    groups: Math.ceil(l.rows / pe),
    wordsPerRow: Math.ceil(l.cols / simd),
    lastLanes: l.cols - (folds - 1) * lanes,
  };
}

/** Capacities a bundle needs on a build with `pe` rows, `simd` and `bwnLanes`. */
export function xnorNeeds(b: BinaryBundle, pe: number, simd: number, bwnLanes: number) {
  let weightDepth = 0;
  let paramDepth = 0;
  for (const l of b.layers) {
    const s = layerShape(l, pe, simd, bwnLanes || 1);
    weightDepth += s.groups * s.wordsPerRow;
    paramDepth += s.groups;
  }
  return {
    weightDepth,
    paramDepth,
    maxCols: Math.max(...b.layers.map((l) => l.cols)),
    maxRows: Math.max(...b.layers.map((l) => l.rows)),
    maxLayers: b.layers.length,
    needsBwn: b.layers.some((l) => l.input === 'fixed'),
  };
}

/** The smallest config (capacities rounded up to powers of two) that runs `bundle` with P rows and S lanes. */
export function xnorConfigForBundle(b: BinaryBundle, opts: { pe?: number; simd?: number; bwnLanes?: number } = {}): XnorConfig {
  const pe = opts.pe ?? 4;
  const simd = opts.simd ?? 32;
  const need = xnorNeeds(b, pe, simd, opts.bwnLanes ?? 4);
  return validateXnorConfig(
    {
      ...b.numeric,
      pe,
      simd,
      bwnLanes: need.needsBwn ? (opts.bwnLanes ?? 4) : 0,
      maxCols: pow2(need.maxCols),
      maxRows: pow2(need.maxRows),
      weightDepth: pow2(need.weightDepth),
      paramDepth: pow2(need.paramDepth),
      maxLayers: pow2(need.maxLayers),
    },
    'derived config',
  );
}

/** Refuses a bundle whose formats differ from the build's or that does not fit its memories. */
export function checkXnorFits(b: BinaryBundle, c: XnorConfig, where: string): void {
  const keys = ['actBits', 'actFrac', 'weightBits', 'accBits'] as const;
  const mismatch = keys.filter((k) => b.numeric[k] !== c[k]);
  if (mismatch.length) {
    throw new HwgenError(`${where}: the bundle was compressed for another format (bundle vs hardware: ${mismatch.map((k) => `${k} ${b.numeric[k]} vs ${c[k]}`).join(', ')}); recompress it with matching options`);
  }
  const conv = b.layers.find((l) => l.conv);
  if (conv) throw new HwgenError(`${where}: layer '${conv.name}' is a convolution; the generated XNOR units run fully-connected layers only (docs/xnor.md)`);
  const need = xnorNeeds(b, c.pe, c.simd, c.bwnLanes || 1);
  const over: string[] = [];
  if (need.needsBwn && c.bwnLanes === 0) over.push('a BWN first layer needs bwnLanes > 0');
  if (need.weightDepth > c.weightDepth) over.push(`weight words ${need.weightDepth} > ${c.weightDepth}`);
  if (need.paramDepth > c.paramDepth) over.push(`thresholds ${need.paramDepth} > ${c.paramDepth}`);
  if (need.maxCols > c.maxCols) over.push(`inputs ${need.maxCols} > ${c.maxCols}`);
  if (need.maxRows > c.maxRows) over.push(`outputs ${need.maxRows} > ${c.maxRows}`);
  if (need.maxLayers > c.maxLayers) over.push(`layers ${need.maxLayers} > ${c.maxLayers}`);
  if (layerInputs(b.layers[0]) > c.maxCols) over.push(`input vector ${layerInputs(b.layers[0])} > ${c.maxCols}`);
  if (over.length) throw new HwgenError(`${where}: the bundle does not fit the hardware (${over.join(', ')}); build a larger config`);
}

export function xnorConfigHash(c: XnorConfig): string {
  return createHash('sha256').update(JSON.stringify(['xnor', ...KEYS.map((k) => [k, c[k]])])).digest('hex').slice(0, 8);
}

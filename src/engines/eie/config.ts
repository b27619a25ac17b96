import { createHash } from 'node:crypto';
import { localRows } from '../../model/layout.js';
import { HwgenError } from '../../errors.js';
import { checkNumeric, checkSparse } from '../../model/limits.js';
import { checkLimits, configFields, isPow2, pow2AtLeast } from '../../gen/config-fields.js';
import type { Bundle, NumericFormat, SparseFormat } from '../../model/types.js';
import { hugeBlocks, type PartHints } from '../engine.js';

/**
 * The EIE engine's build parameters: formats (must match the bundles it runs), parallelism, queue depth,
 * memory capacities per PE. Validated on load; the hash names the build (file headers, model cache,
 * the board's identity).
 */
export interface EieConfig extends NumericFormat, SparseFormat {
  /** Activation queue depth per PE. */
  fifoDepth: number;
  /** (v, z) entries per sparse-matrix SRAM word (a power of two). */
  entriesPerWord: number;
  /** Sparse-matrix SRAM words per PE. */
  spmatWords: number;
  /** Column pointers per PE, over all layers (each layer takes cols + 1). */
  ptrDepth: number;
  /** Activations per PE in each of the source and destination buffers. */
  actDepth: number;
  /** Bias words per PE, over all layers. */
  biasDepth: number;
  maxLayers: number;
}

export const CONFIG_LIMITS = {
  fifoDepth: [1, 64],
  entriesPerWord: [1, 16],
  spmatWords: [1, 1 << 22],
  ptrDepth: [2, 1 << 22],
  actDepth: [1, 1 << 20],
  biasDepth: [1, 1 << 22],
  maxLayers: [1, 16],
} as const;

/** The config's fields in their one order (the hash, the board's identity). */
export const CONFIG_KEYS: readonly (keyof EieConfig)[] = [
  'pes', 'vBits', 'zBits', 'actBits', 'actFrac', 'weightBits', 'accBits',
  'fifoDepth', 'entriesPerWord', 'spmatWords', 'ptrDepth', 'actDepth', 'biasDepth', 'maxLayers',
];

/** Checks every field (unknown keys too); `where` names the source for messages. */
export function validateConfig(raw: unknown, where: string): EieConfig {
  const c = configFields(raw, CONFIG_KEYS, where) as unknown as EieConfig;
  checkSparse(c, where);
  checkNumeric(c, where);
  checkLimits(c, CONFIG_LIMITS, where);
  if (!isPow2(c.entriesPerWord)) {
    throw new HwgenError(`${where}: entriesPerWord = ${c.entriesPerWord} must be a power of two (the entry's lane is the low address bits)`);
  }
  if (c.ptrDepth % 2) throw new HwgenError(`${where}: ptrDepth = ${c.ptrDepth} must be even (pointers live in an even and an odd bank)`);
  return c;
}

/** Capacities a bundle needs per PE. */
export function bundleNeeds(bundle: Bundle): Pick<EieConfig, 'spmatWords' | 'ptrDepth' | 'actDepth' | 'biasDepth' | 'maxLayers'> & { entries: number } {
  const { pes } = bundle.sparse;
  let entries = 0;
  for (let p = 0; p < pes; p++) entries = Math.max(entries, bundle.layers.reduce((s, l) => s + l.slices[p].v.length, 0));
  const ptr = bundle.layers.reduce((s, l) => s + l.cols + 1, 0);
  const act = Math.max(...bundle.layers.flatMap((l) => [Math.ceil(l.cols / pes), Math.ceil(l.rows / pes)]));
  const bias = bundle.layers.reduce((s, l) => s + localRows(l.rows, pes, 0), 0);
  return { entries, spmatWords: entries, ptrDepth: ptr + (ptr % 2), actDepth: act, biasDepth: bias, maxLayers: bundle.layers.length };
}

/** Sparse entries per memory word unless a build says otherwise. */
const ENTRIES_PER_WORD = 8;

/**
 * Entries per sparse word for a part: ENTRIES_PER_WORD, or the most below it whose words let every PE's sparse
 * matrix into the part's huge RAM blocks (the iCE40 UltraPlus's SPRAM is 16 bits wide: 80-bit words take five).
 */
export function entriesPerWordFor(bundle: Bundle, part?: PartHints): number {
  const huge = part?.hugeRam;
  if (!huge) return ENTRIES_PER_WORD;
  const { entries } = bundleNeeds(bundle);
  const entryBits = bundle.sparse.vBits + bundle.sparse.zBits;
  for (let epw = ENTRIES_PER_WORD; epw >= 1; epw /= 2) {
    if (bundle.sparse.pes * hugeBlocks(huge, epw * entryBits, pow2AtLeast(Math.ceil(entries / epw))) <= huge.count) return epw;
  }
  return ENTRIES_PER_WORD;
}

/** The smallest config (capacities rounded up to powers of two) that runs `bundle`. */
export function configForBundle(bundle: Bundle, opts: { fifoDepth?: number; entriesPerWord?: number; part?: PartHints } = {}): EieConfig {
  const need = bundleNeeds(bundle);
  const epw = opts.entriesPerWord ?? entriesPerWordFor(bundle, opts.part);
  return validateConfig(
    {
      ...bundle.numeric,
      ...bundle.sparse,
      fifoDepth: opts.fifoDepth ?? 8,
      entriesPerWord: epw,
      spmatWords: pow2AtLeast(Math.ceil(need.entries / epw)),
      ptrDepth: pow2AtLeast(need.ptrDepth),
      actDepth: pow2AtLeast(need.actDepth),
      biasDepth: pow2AtLeast(need.biasDepth),
      maxLayers: pow2AtLeast(need.maxLayers),
    },
    'derived config',
  );
}

/** Refuses a bundle whose formats differ from the build's or that does not fit its memories. */
export function checkBundleFits(bundle: Bundle, c: EieConfig, where: string): void {
  const have: Record<string, number> = { ...bundle.sparse, ...bundle.numeric };
  const mismatch = (['pes', 'vBits', 'zBits', 'actBits', 'actFrac', 'weightBits', 'accBits'] as const).filter((k) => have[k] !== c[k]);
  if (mismatch.length) {
    const list = mismatch.map((k) => `${k} ${have[k]} vs ${c[k]}`);
    throw new HwgenError(`${where}: the bundle was compressed for another format (bundle vs hardware: ${list.join(', ')}); recompress it with matching options`);
  }
  const need = bundleNeeds(bundle);
  const over: string[] = [];
  if (need.entries > c.spmatWords * c.entriesPerWord) over.push(`sparse entries ${need.entries} > ${c.spmatWords * c.entriesPerWord}`);
  if (need.ptrDepth > c.ptrDepth) over.push(`pointers ${need.ptrDepth} > ${c.ptrDepth}`);
  if (need.actDepth > c.actDepth) over.push(`activations ${need.actDepth} > ${c.actDepth}`);
  if (need.biasDepth > c.biasDepth) over.push(`biases ${need.biasDepth} > ${c.biasDepth}`);
  if (need.maxLayers > c.maxLayers) over.push(`layers ${need.maxLayers} > ${c.maxLayers}`);
  if (over.length) throw new HwgenError(`${where}: the bundle does not fit the hardware (per PE: ${over.join(', ')}); build a larger config`);
}

/** Short hash of the canonical config: names the build in file headers, the model cache and the board ID. */
export function configHash(c: EieConfig): string {
  const canon = JSON.stringify(CONFIG_KEYS.map((k) => [k, c[k]]));
  return createHash('sha256').update(canon).digest('hex').slice(0, 8);
}

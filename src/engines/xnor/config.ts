import { createHash } from 'node:crypto';
import { HwgenError } from '../../errors.js';
import { convGeometry } from '../../model/layout.js';
import { checkNumeric } from '../../model/limits.js';
import { checkLimits, configFields, isPow2, pow2AtLeast } from '../../gen/config-fields.js';
import type { BinaryBundle, NumericFormat, XnorLayer } from '../../model/types.js';

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
  /**
   * S-bit words per binary activation buffer: the largest feature map (H·W pixels of ceil(C/S) words each) the
   * chain reads or writes. Optional in a config file; the default holds the largest fully-connected vector.
   */
  bufWords: number;
  /** Words per BWN input bank (H·W·ceil(C/B) for a BWN first layer). Optional; the default holds maxCols values. */
  inWords: number;
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
  bufWords: [1, 1 << 22],
  inWords: [1, 1 << 22],
} as const;

/** The config's fields in their one order (the hash, the board's identity). */
export const XNOR_CONFIG_KEYS: readonly (keyof XnorConfig)[] = [
  'pe', 'simd', 'bwnLanes', 'actBits', 'actFrac', 'weightBits', 'accBits',
  'maxCols', 'maxRows', 'weightDepth', 'paramDepth', 'maxLayers', 'bufWords', 'inWords',
];
/** Keys a config file may leave out, with their defaults (the sizes a fully-connected chain needs). */
const OPTIONAL: Partial<Record<keyof XnorConfig, (c: XnorConfig) => number>> = {
  bufWords: (c) => Math.max(Math.ceil(c.maxCols / c.simd), Math.ceil(c.maxRows / c.simd)),
  inWords: (c) => Math.ceil(c.maxCols / Math.max(1, c.bwnLanes)),
};

export function validateXnorConfig(raw: unknown, where: string): XnorConfig {
  const c = configFields(raw, XNOR_CONFIG_KEYS, where, Object.keys(OPTIONAL)) as unknown as XnorConfig;
  for (const [k, f] of Object.entries(OPTIONAL)) if (c[k as keyof XnorConfig] === undefined) (c as unknown as Record<string, number>)[k] = f!(c);
  checkNumeric(c, where);
  checkLimits(c, XNOR_CONFIG_LIMITS, where);
  if (!isPow2(c.simd)) throw new HwgenError(`${where}: simd = ${c.simd} must be a power of two (the popcount tree halves it)`);
  if (c.simd % c.pe !== 0) throw new HwgenError(`${where}: simd = ${c.simd} must be a multiple of pe = ${c.pe} (a group's P output bits land in one S-bit word)`);
  if (c.bwnLanes !== 0 && (!isPow2(c.bwnLanes) || c.simd % c.bwnLanes !== 0)) {
    throw new HwgenError(`${where}: bwnLanes = ${c.bwnLanes} must be 0 or a power of two dividing simd = ${c.simd}`);
  }
  return c;
}

/** Words of S bits per row, folds and groups of a fully-connected layer on a build with P rows and S (or B) lanes. */
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

/**
 * How the hardware runs one layer (docs/xnor.md, "The hardware"): every layer is a stride-1 window over an
 * H×W map of C channels, each pixel stored as ceil(C/lanes) words (pixWords). A convolution is its own window;
 * a fully-connected layer after a convolution is a 'valid' window as large as the map it reads (one output
 * position); any other fully-connected layer is a 1×1 window on a 1×1 map of K channels.
 */
export interface XnorGeometry {
  lanes: number;
  inH: number;
  inW: number;
  channels: number;
  kernelH: number;
  kernelW: number;
  padTop: number;
  padLeft: number;
  pool: number;
  /** The pooled output map (the convolution's output with a remainder row / column dropped). */
  poolH: number;
  poolW: number;
  /** Words per input pixel (ceil(C / lanes)) and per output pixel (ceil(M / S)). */
  pixWords: number;
  outPixWords: number;
  /** Folds per output row and position: kernelH·kernelW·pixWords. */
  folds: number;
  groups: number;
  /** S-bit weight words per output row: the row padded like the map, ceil(folds·lanes / S). */
  wordsPerRow: number;
  /** Lanes valid in a pixel's last word. */
  lastLanes: number;
  /** Output positions computed: poolH·pool × poolW·pool. */
  positions: number;
  /** Words of the input map and of the output map. */
  inWords: number;
  outWords: number;
  /** Word address of the first window's first pixel (negative when it starts in the padding). */
  startAddr: number;
}

/** The hardware geometry of every layer of a bundle on a build with P rows, S lanes and B BWN lanes. */
export function xnorGeometry(b: BinaryBundle, pe: number, simd: number, bwnLanes: number): XnorGeometry[] {
  let prev: { h: number; w: number; c: number } | undefined;
  return b.layers.map((l) => {
    const lanes = l.input === 'fixed' ? bwnLanes : simd;
    let g: Omit<XnorGeometry, 'pixWords' | 'outPixWords' | 'folds' | 'groups' | 'wordsPerRow' | 'lastLanes' | 'positions' | 'inWords' | 'outWords' | 'startAddr'>;
    if (l.conv) {
      const cg = convGeometry(l.conv);
      g = {
        lanes, inH: l.conv.inHeight, inW: l.conv.inWidth, channels: l.conv.inChannels, kernelH: l.conv.kernel, kernelW: l.conv.kernel,
        padTop: cg.padTop, padLeft: cg.padLeft, pool: l.pool, poolH: Math.floor(cg.outH / l.pool), poolW: Math.floor(cg.outW / l.pool),
      };
    } else if (prev && prev.h * prev.w > 1) {
      g = { lanes, inH: prev.h, inW: prev.w, channels: prev.c, kernelH: prev.h, kernelW: prev.w, padTop: 0, padLeft: 0, pool: 1, poolH: 1, poolW: 1 };
    } else {
      g = { lanes, inH: 1, inW: 1, channels: l.cols, kernelH: 1, kernelW: 1, padTop: 0, padLeft: 0, pool: 1, poolH: 1, poolW: 1 };
    }
    prev = { h: g.poolH, w: g.poolW, c: l.rows };
    const pixWords = Math.ceil(g.channels / lanes);
    const folds = g.kernelH * g.kernelW * pixWords;
    const outPixWords = Math.ceil(l.rows / simd);
    return {
      ...g,
      pixWords,
      outPixWords,
      folds,
      groups: Math.ceil(l.rows / pe),
      wordsPerRow: Math.ceil((folds * lanes) / simd),
      lastLanes: g.channels - (pixWords - 1) * lanes,
      positions: g.poolH * g.pool * g.poolW * g.pool,
      inWords: g.inH * g.inW * pixWords,
      outWords: g.poolH * g.poolW * outPixWords,
      startAddr: (-g.padTop * g.inW - g.padLeft) * pixWords,
    };
  });
}

/**
 * Why layer `i` cannot read the map layer `i − 1` wrote, or undefined. The buffers keep a map pixel by pixel,
 * ceil(C/S) words each; a convolution whose input shape differs from the previous layer's output reads the same
 * flat vector in the golden model, which the padded layout matches only when both channel counts are multiples of S.
 */
function layoutMismatch(b: BinaryBundle, geo: XnorGeometry[], i: number, simd: number): string | undefined {
  const l: XnorLayer = b.layers[i];
  if (i === 0 || !l.conv) return undefined;
  const p = geo[i - 1];
  const m = b.layers[i - 1].rows;
  const c = l.conv;
  if (c.inHeight === p.poolH && c.inWidth === p.poolW && c.inChannels === m) return undefined;
  if (c.inChannels % simd === 0 && m % simd === 0) return undefined;
  return `layer '${l.name}' reads a ${c.inHeight}x${c.inWidth}x${c.inChannels} map but layer '${b.layers[i - 1].name}' writes ${p.poolH}x${p.poolW}x${m}; the buffers keep pixels padded to whole ${simd}-bit words, so a reshape needs both channel counts to be multiples of ${simd}`;
}

/** Bits of a signed window coordinate (and of the map and window sizes) on a build. */
export function xnorDimBits(c: XnorConfig): number {
  return Math.ceil(Math.log2(Math.max(c.bufWords, c.inWords) + 130)) + 1;
}

/** Capacities a bundle needs on a build with `pe` rows, `simd` and `bwnLanes`. */
export function xnorNeeds(b: BinaryBundle, pe: number, simd: number, bwnLanes: number) {
  const geo = xnorGeometry(b, pe, simd, bwnLanes);
  const first = geo[0];
  const fixedFirst = b.layers[0].input === 'fixed';
  return {
    weightDepth: geo.reduce((s, g) => s + g.groups * g.wordsPerRow, 0),
    paramDepth: geo.reduce((s, g) => s + g.groups, 0),
    maxCols: Math.max(...b.layers.map((l) => l.cols)),
    maxRows: Math.max(...b.layers.map((l) => l.rows)),
    maxLayers: b.layers.length,
    needsBwn: fixedFirst,
    bufWords: Math.max(fixedFirst ? 1 : first.inWords, ...geo.map((g) => g.outWords), ...geo.slice(1).map((g) => g.inWords)),
    inWords: fixedFirst ? first.inWords : 1,
    folds: Math.max(...geo.map((g) => g.folds)),
  };
}

/** The smallest config (capacities rounded up to powers of two) that runs `bundle` with P rows and S lanes. */
export function xnorConfigForBundle(b: BinaryBundle, opts: { pe?: number; simd?: number; bwnLanes?: number } = {}): XnorConfig {
  const pe = opts.pe ?? 4;
  const simd = opts.simd ?? 32;
  // 16 BWN lanes (at most S): a BWN first layer of 784 pixels takes 49 folds a group instead of 196 at 4.
  const bwnLanes = opts.bwnLanes ?? Math.min(16, simd);
  const need = xnorNeeds(b, pe, simd, bwnLanes);
  return validateXnorConfig(
    {
      ...b.numeric,
      pe,
      simd,
      bwnLanes: need.needsBwn ? bwnLanes : 0,
      maxCols: pow2AtLeast(Math.max(need.maxCols, need.folds)),
      maxRows: pow2AtLeast(need.maxRows),
      weightDepth: pow2AtLeast(need.weightDepth),
      paramDepth: pow2AtLeast(need.paramDepth),
      maxLayers: pow2AtLeast(need.maxLayers),
      bufWords: pow2AtLeast(need.bufWords),
      inWords: pow2AtLeast(need.inWords),
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
  const geo = xnorGeometry(b, c.pe, c.simd, c.bwnLanes || 1);
  b.layers.forEach((l, i) => {
    const bad = layoutMismatch(b, geo, i, c.simd);
    if (bad) throw new HwgenError(`${where}: ${bad}`);
    if (l.output === 'scores' && geo[i].positions > 1) {
      throw new HwgenError(`${where}: layer '${l.name}' is a convolution with scores out (${geo[i].positions} positions); the XNOR units give scores for one position only: end the chain with a fully-connected layer or --last-layer threshold`);
    }
  });
  const need = xnorNeeds(b, c.pe, c.simd, c.bwnLanes || 1);
  const over: string[] = [];
  if (need.needsBwn && c.bwnLanes === 0) over.push('a BWN first layer needs bwnLanes > 0');
  if (need.weightDepth > c.weightDepth) over.push(`weight words ${need.weightDepth} > ${c.weightDepth}`);
  if (need.paramDepth > c.paramDepth) over.push(`thresholds ${need.paramDepth} > ${c.paramDepth}`);
  if (need.maxCols > c.maxCols) over.push(`inputs ${need.maxCols} > ${c.maxCols}`);
  if (need.folds > c.maxCols) over.push(`folds per output ${need.folds} > maxCols ${c.maxCols}`);
  if (need.maxRows > c.maxRows) over.push(`outputs ${need.maxRows} > ${c.maxRows}`);
  if (need.maxLayers > c.maxLayers) over.push(`layers ${need.maxLayers} > ${c.maxLayers}`);
  if (need.bufWords > c.bufWords) over.push(`feature map words ${need.bufWords} > bufWords ${c.bufWords}`);
  if (need.needsBwn && need.inWords > c.inWords) over.push(`BWN input words ${need.inWords} > inWords ${c.inWords}`);
  // Window coordinates run from −pad to the far edge of the last window; sizes and coordinates are signed D_W bits.
  const lim = 2 ** (xnorDimBits(c) - 1);
  for (const g of geo) {
    const far = Math.max(g.poolH * g.pool + g.kernelH, g.poolW * g.pool + g.kernelW, g.inH, g.inW);
    if (far >= lim || g.pool >= lim) over.push(`a ${g.inH}x${g.inW} map with a ${g.kernelH}x${g.kernelW} window needs wider coordinates than this build's ${xnorDimBits(c)} bits`);
  }
  if (over.length) throw new HwgenError(`${where}: the bundle does not fit the hardware (${over.join(', ')}); build a larger config`);
}

export function xnorConfigHash(c: XnorConfig): string {
  return createHash('sha256').update(JSON.stringify(['xnor', ...XNOR_CONFIG_KEYS.map((k) => [k, c[k]])])).digest('hex').slice(0, 8);
}

import { ALL_PES, MAX_BURST, MEM, OP, XNOR_FLAG_FIXED, XNOR_FLAG_SCORES, XNOR_FLAG_SHIFT, XNOR_LAYER_FIELDS, XNOR_LAYER_STRIDE, addressWord, header } from '../../protocol/command-set.js';
import { xnorGeometry, type XnorConfig, type XnorGeometry } from './config.js';
import { xnorWidths } from './rtl.js';
import { getBit, rowBytes, scoreShift } from '../../model/layout.js';
import type { BinaryBundle, XnorLayer } from '../../model/types.js';
import { readWalking, toWords, writeCommands as write, type Command } from '../../protocol/command-words.js';
import { HwgenError } from '../../errors.js';

/**
 * The command words that put a binary bundle into the XNOR units and run it (docs/xnor.md): the same
 * word-stream commands as the EIE engine, with the XNOR memories. Layout per PE p: layer l's rows p, p+P, ...
 * (group g = row div P) take wordsPerRow consecutive weight words each, after the previous layer's; its
 * thresholds (or biases) and α take one entry per group, after the previous layer's. A weight row and a
 * feature map are padded alike: every pixel's C channels (a kernel pixel's, for a row) start a new
 * ceil(C/lanes)-word slot, so channel c of pixel p is bit p·ceil(C/lanes)·lanes + c (lanes = S, or B for BWN).
 */

/** Bits [from, from + n) of a packed array as 32-bit words, lane 0 in bit 0 of word 0 (bits past `limit` are 0). */
function bitsToWords(bytes: Uint8Array, from: number, n: number, limit: number, words: number): number[] {
  const out = new Array<number>(words).fill(0);
  for (let s = 0; s < n && from + s < limit; s++) if (getBit(bytes, from + s)) out[s >> 5] = (out[s >> 5] | (1 << (s & 31))) >>> 0;
  return out;
}

/** Where each layer lives in every PE's memories, with its hardware geometry. */
export function xnorPlacement(b: BinaryBundle, c: XnorConfig): (XnorGeometry & { wBase: number; pBase: number })[] {
  let wBase = 0;
  let pBase = 0;
  return xnorGeometry(b, c.pe, c.simd, c.bwnLanes || 1).map((g) => {
    const place = { ...g, wBase, pBase };
    wBase += g.groups * g.wordsPerRow;
    pBase += g.groups;
    return place;
  });
}

export function layerFlags(l: XnorLayer, b: BinaryBundle): number {
  const scores = l.output === 'scores';
  return ((scores ? scoreShift(l, b.numeric) : 0) << XNOR_FLAG_SHIFT) | (scores ? XNOR_FLAG_SCORES : 0) | (l.input === 'fixed' ? XNOR_FLAG_FIXED : 0);
}

/** Padded position of element k of a map (or of a weight row's window) with `channels` channels per pixel. */
function paddedIndex(k: number, channels: number, pixWords: number, lanes: number): number {
  return Math.floor(k / channels) * pixWords * lanes + (k % channels);
}

/** A layer's descriptor words, in XNOR_LAYER_FIELDS order. */
export function xnorDescriptor(l: XnorLayer, b: BinaryBundle, p: XnorGeometry & { wBase: number; pBase: number }): number[] {
  const rowWords = p.inW * p.pixWords;
  const fields: Record<(typeof XNOR_LAYER_FIELDS)[number], number> = {
    cols: l.cols, rows: l.rows, folds: p.folds, groups: p.groups, wBase: p.wBase, pBase: p.pBase,
    flags: layerFlags(l, b), lastLanes: p.lastLanes,
    inH: p.inH, inW: p.inW, kernelW: p.kernelW, pool: p.pool, originY: -p.padTop, originX: -p.padLeft, outH: p.poolH, outW: p.poolW,
    pixWords: p.pixWords, outPixWords: p.outPixWords, rowWords, startAddr: p.startAddr, poolStep: p.pool * p.pixWords, poolRowStep: p.pool * rowWords,
  };
  return XNOR_LAYER_FIELDS.map((f) => fields[f] >>> 0);
}

/** Every command that loads `bundle`: descriptors, then per PE its weight words, thresholds / biases and α. */
export function xnorLoadCommands(b: BinaryBundle, c: XnorConfig): Command[] {
  const w = xnorWidths(c);
  const place = xnorPlacement(b, c);
  const cmds: Command[] = [];
  b.layers.forEach((l, li) => {
    if (l.output === 'scores' && scoreShift(l, b.numeric) > w.SUM_W - 2) {
      throw new HwgenError(`load: layer '${l.name}' shifts its scores by ${scoreShift(l, b.numeric)} bits; this build rounds at most ${w.SUM_W - 2}`);
    }
    cmds.push(...write(MEM.LAYER, ALL_PES, li * XNOR_LAYER_STRIDE, xnorDescriptor(l, b, place[li]).map((v) => [v])));
  });
  // Weight rows padded like the map they read: kernel pixel by kernel pixel, ceil(C/lanes) words each.
  const padded = b.layers.map((l, li) => {
    const p = place[li];
    const rb = rowBytes(l.cols);
    const bits = p.wordsPerRow * c.simd;
    return Array.from({ length: l.rows }, (_, i) => {
      const row = l.weights.subarray(i * rb, (i + 1) * rb);
      const out = new Uint8Array(Math.ceil(bits / 8));
      for (let k = 0; k < l.cols; k++) {
        if (getBit(row, k)) {
          const at = paddedIndex(k, p.channels, p.pixWords, p.lanes);
          out[at >> 3] |= 1 << (at & 7);
        }
      }
      return out;
    });
  });
  for (let pe = 0; pe < c.pe; pe++) {
    const weights: number[][] = [];
    const params: number[][] = [];
    const alphas: number[][] = [];
    b.layers.forEach((l, li) => {
      const p = place[li];
      const bits = p.wordsPerRow * c.simd;
      for (let g = 0; g < p.groups; g++) {
        const i = g * c.pe + pe;
        const row = i < l.rows ? padded[li][i] : new Uint8Array(Math.ceil(bits / 8));
        for (let k = 0; k < p.wordsPerRow; k++) weights.push(bitsToWords(row, k * c.simd, c.simd, bits, w.ITEM_WORDS));
        if (l.output === 'threshold') {
          // {flip, T}: T in TH_W bits two's complement, the flip bit above it
          const t = i < l.rows ? BigInt(l.threshold[i]) : 0n;
          const flip = i < l.rows ? BigInt(l.flip[i]) : 0n;
          params.push(toWords(BigInt.asUintN(w.TH_W, t) | (flip << BigInt(w.TH_W)), w.PARAM_WORDS * 32, w.PARAM_WORDS));
          alphas.push([0]);
        } else {
          params.push(toWords(BigInt(i < l.rows ? l.bias[i] : 0), w.PARAM_WORDS * 32, w.PARAM_WORDS));
          alphas.push([(i < l.rows ? l.alpha[i] : 0) >>> 0]);
        }
      }
    });
    cmds.push(...write(MEM.XWEIGHT, pe, 0, weights));
    cmds.push(...write(MEM.XPARAM, pe, 0, params));
    cmds.push(...write(MEM.XALPHA, pe, 0, alphas));
  }
  return cmds;
}

/**
 * Writes an input (a vector, or a feature map channel-fastest): fixed-point values (BWN first layer) to
 * MEM.ACT, pixel p's channel c at element p·ceil(C/B)·B + c (lane c mod B; pad lanes 0), or bits packed to
 * MEM.XBITS, pixel p's channel c at lane c mod S of word p·ceil(C/S) + c div S (pad lanes 0, never counted).
 */
export function xnorInputCommands(b: BinaryBundle, x: Int32Array, c: XnorConfig): Command[] {
  const g = xnorGeometry(b, c.pe, c.simd, c.bwnLanes || 1)[0];
  const n = g.inWords * g.lanes;
  if (b.layers[0].input === 'fixed') {
    const v = new Array<number>(n).fill(0);
    x.forEach((e, k) => (v[paddedIndex(k, g.channels, g.pixWords, g.lanes)] = e));
    return write(MEM.ACT, 0, 0, v.map((e) => [e >>> 0]), c.bwnLanes);
  }
  const w = xnorWidths(c);
  const packed = new Uint8Array(rowBytes(n));
  x.forEach((v, k) => {
    const at = paddedIndex(k, g.channels, g.pixWords, g.lanes);
    if (v & 1) packed[at >> 3] |= 1 << (at & 7);
  });
  const items: number[][] = [];
  for (let at = 0; at < n; at += c.simd) items.push(bitsToWords(packed, at, c.simd, n, w.ITEM_WORDS));
  return write(MEM.XBITS, 0, 0, items);
}

/** Reads the last layer's output: its scores (MEM.ACT, element i at address i) or its bit map (MEM.XBITS, S-bit words). */
export function xnorReadCommands(b: BinaryBundle, c: XnorConfig): Command[] {
  const last = b.layers[b.layers.length - 1];
  const n = last.rows;
  const cmds: Command[] = [];
  if (last.output === 'scores') return readWalking(MEM.ACT, n, 1);
  const iw = xnorWidths(c).ITEM_WORDS;
  const items = xnorGeometry(b, c.pe, c.simd, c.bwnLanes || 1)[b.layers.length - 1].outWords;
  const per = Math.floor(MAX_BURST / iw);
  for (let at = 0; at < items; at += per) {
    const count = Math.min(per, items - at);
    cmds.push({ op: OP.READ, respWords: count * iw, words: [header(OP.READ, MEM.XBITS, count), addressWord(0, at)] });
  }
  return cmds;
}

/** The output from the read responses (concatenated): scores as signed integers, or bits 0/1 channel-fastest. */
export function xnorDecodeOutput(b: BinaryBundle, c: XnorConfig, words: Uint32Array): Int32Array {
  const last = b.layers[b.layers.length - 1];
  if (last.output === 'scores') return Int32Array.from(words.subarray(0, last.rows), (v) => v | 0);
  const iw = xnorWidths(c).ITEM_WORDS;
  const g = xnorGeometry(b, c.pe, c.simd, c.bwnLanes || 1)[b.layers.length - 1];
  const m = last.rows;
  return Int32Array.from({ length: g.poolH * g.poolW * m }, (_, e) => {
    const item = Math.floor(e / m) * g.outPixWords + Math.floor((e % m) / c.simd);
    const lane = (e % m) % c.simd;
    return (words[item * iw + (lane >> 5)] >>> (lane & 31)) & 1;
  });
}

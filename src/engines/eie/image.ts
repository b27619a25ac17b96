import { localRows } from '../../model/layout.js';
import type { EieConfig } from './config.js';
import { eieWidths } from './rtl.js';
import { ALL_PES, FLAG_RELU_SHIFT, LAYER_FIELDS, LAYER_STRIDE, MEM } from '../../protocol/command-set.js';
import type { Bundle } from '../../model/types.js';
import { readWalking, toWords, writeCommands as write, type Command } from '../../protocol/command-words.js';

/**
 * The command words that put a bundle into an EIE engine and run it: the one encoding the simulator, the
 * serial link and PCIe all carry (docs/commands.md). Memory layout per PE: each layer's pointers follow the
 * previous layer's (cols + 1 each), its entries follow the previous layer's entries, its biases follow the
 * previous layer's local rows.
 */

/** Where each layer lives in every PE's memories. */
export function layerPlacement(bundle: Bundle) {
  const { pes } = bundle.sparse;
  let ptrBase = 0;
  let biasBase = 0;
  const entryBase = new Array<number>(pes).fill(0);
  return bundle.layers.map((l) => {
    const place = { ptrBase, biasBase, entryBase: [...entryBase] };
    ptrBase += l.cols + 1;
    biasBase += localRows(l.rows, pes, 0);
    l.slices.forEach((s, p) => (entryBase[p] += s.v.length));
    return place;
  });
}

/** Every command that loads `bundle` (codebooks, layer table, pointers, entries, biases). */
export function loadCommands(bundle: Bundle, c: EieConfig): Command[] {
  const w = eieWidths(c);
  const { pes, vBits } = bundle.sparse;
  const place = layerPlacement(bundle);
  const cmds: Command[] = [];
  bundle.layers.forEach((l, li) => {
    cmds.push(...write(MEM.CODEBOOK, ALL_PES, li << vBits, Array.from(l.codebook, (q) => toWords(q, 32))));
    const fields: Record<(typeof LAYER_FIELDS)[number], number> = {
      cols: l.cols,
      rows: l.rows,
      inGroups: Math.ceil(l.cols / pes),
      outGroups: Math.ceil(l.rows / pes),
      ptrBase: place[li].ptrBase,
      biasBase: place[li].biasBase,
      flags: (Number(l.relu) << FLAG_RELU_SHIFT) | l.wFrac,
    };
    cmds.push(...write(MEM.LAYER, ALL_PES, li * LAYER_STRIDE, LAYER_FIELDS.map((f) => [fields[f]])));
  });
  for (let p = 0; p < pes; p++) {
    const ptrs: number[][] = [];
    const entries: number[] = [];
    const biases: number[][] = [];
    bundle.layers.forEach((l, li) => {
      const s = l.slices[p];
      for (let j = 0; j <= l.cols; j++) ptrs.push([place[li].entryBase[p] + s.ptr[j]]);
      for (let e = 0; e < s.v.length; e++) entries.push(s.v[e] | (s.z[e] << vBits));
      for (let k = 0; k < localRows(l.rows, pes, 0); k++) {
        const i = k * pes + p;
        biases.push(toWords(i < l.rows ? l.bias[i] : 0, c.accBits));
      }
    });
    cmds.push(...write(MEM.PTR, p, 0, ptrs));
    cmds.push(...write(MEM.SPMAT, p, 0, packEntries(entries, c.entriesPerWord, w.ENT_W)));
    cmds.push(...write(MEM.BIAS, p, 0, biases));
  }
  return cmds;
}

/** Packs entries (v | z << vBits) `perWord` to an SRAM word, lane 0 in the low bits, as 32-bit words. */
function packEntries(entries: number[], perWord: number, entW: number): number[][] {
  const words: number[][] = [];
  for (let at = 0; at < entries.length; at += perWord) {
    let v = 0n;
    for (let lane = 0; lane < perWord && at + lane < entries.length; lane++) v |= BigInt(entries[at + lane]) << BigInt(lane * entW);
    words.push(toWords(v, perWord * entW));
  }
  return words;
}

/** Writes an input vector (activation integers) into the source buffer: PEs walking first. */
export function inputCommands(x: Int32Array, c: EieConfig): Command[] {
  return write(MEM.ACT, 0, 0, Array.from(x, (v) => [v >>> 0]), c.pes);
}

/** Reads `n` result activations; the response's words are sign-extended activations. */
export function readCommands(n: number, c: EieConfig): Command[] {
  return readWalking(MEM.ACT, n, c.pes);
}

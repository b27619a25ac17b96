import { localRows } from '../src/compress/csc.js';
import { checkBundleFits, type EieConfig } from '../src/gen/eie-config.js';
import { eieWidths } from '../src/gen/eie-rtl.js';
import {
  ALL_PES, FLAG_RELU_SHIFT, LAYER_FIELDS, LAYER_STRIDE, MAX_BURST, MEM, OP, STATS_FIELDS, STATUS, addressWord, header,
} from '../src/gen/commands.js';
import { HwgenError } from '../src/errors.js';
import type { Bundle } from '../src/model/types.js';

/**
 * The command words that put a bundle into an EIE engine and run it: the one encoding the simulator, the
 * serial link and PCIe all carry (docs/commands.md). Memory layout per PE: each layer's pointers follow the
 * previous layer's (cols + 1 each), its entries follow the previous layer's entries, its biases follow the
 * previous layer's local rows.
 */
export interface Command {
  words: number[];
  /** Data words the response carries after its status word. */
  respWords: number;
  op: number;
}

function write(mem: number, pe: number, addr: number, items: number[][]): Command[] {
  const cmds: Command[] = [];
  for (let at = 0; at < items.length; at += MAX_BURST) {
    const chunk = items.slice(at, at + MAX_BURST);
    cmds.push({
      op: OP.WRITE,
      respWords: 0,
      words: [header(OP.WRITE, MEM[memName(mem)], chunk.length), addressWord(pe, addr + at), ...chunk.flat()],
    });
  }
  return cmds;
}

function memName(mem: number): keyof typeof MEM {
  return (Object.keys(MEM) as (keyof typeof MEM)[]).find((k) => MEM[k] === mem)!;
}

/** Splits a value of `bits` bits (two's complement) into little-endian 32-bit words. */
function toWords(value: number, bits: number): number[] {
  const n = Math.ceil(bits / 32);
  let v = BigInt.asUintN(bits, BigInt(value));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return out;
}

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
  checkBundleFits(bundle, c, 'load');
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
  const streamWords = Math.ceil((perWord * entW) / 32);
  for (let at = 0; at < entries.length; at += perWord) {
    let v = 0n;
    for (let lane = 0; lane < perWord && at + lane < entries.length; lane++) v |= BigInt(entries[at + lane]) << BigInt(lane * entW);
    const out: number[] = [];
    for (let i = 0; i < streamWords; i++) out.push(Number((v >> BigInt(32 * i)) & 0xffffffffn));
    words.push(out);
  }
  return words;
}

/** Writes an input vector (activation integers) into the source buffer: one burst, PEs walking first. */
export function inputCommands(x: Int32Array, c: EieConfig): Command[] {
  const cmds: Command[] = [];
  for (let at = 0; at < x.length; at += MAX_BURST) {
    const chunk = Array.from(x.subarray(at, at + MAX_BURST), (v) => [v >>> 0]);
    cmds.push(...write(MEM.ACT, at % c.pes, Math.floor(at / c.pes), chunk));
  }
  return cmds;
}

export function runCommand(layers: number): Command {
  return { op: OP.RUN, respWords: 1, words: [header(OP.RUN, 0, layers)] };
}

/** Reads `n` result activations; the response's words are sign-extended activations. */
export function readCommands(n: number, c: EieConfig): Command[] {
  const cmds: Command[] = [];
  for (let at = 0; at < n; at += MAX_BURST) {
    const count = Math.min(MAX_BURST, n - at);
    cmds.push({ op: OP.READ, respWords: count, words: [header(OP.READ, MEM.ACT, count), addressWord(at % c.pes, Math.floor(at / c.pes))] });
  }
  return cmds;
}

export function statsCommand(c: EieConfig): Command {
  return { op: OP.STATS, respWords: STATS_FIELDS.length + 2 ** eieWidths(c).L_W, words: [header(OP.STATS, 0, 0)] };
}

/** Splits a response stream by the commands that caused it, checking every status word. */
export function splitResponses(cmds: Command[], resp: Uint32Array, where: string): Uint32Array[] {
  const out: Uint32Array[] = [];
  let at = 0;
  for (const [i, cmd] of cmds.entries()) {
    if (at >= resp.length) throw new HwgenError(`${where}: the engine answered ${i} of ${cmds.length} commands, then stopped`);
    const st = resp[at];
    const [op, status, count] = [st >>> 24, (st >>> 16) & 0xff, st & 0xffff];
    if (op !== cmd.op || status !== STATUS.OK || count !== cmd.respWords) {
      throw new HwgenError(`${where}: command ${i} (op ${cmd.op}) got status word 0x${st.toString(16)} (op ${op}, status ${status}, ${count} words)`);
    }
    out.push(resp.subarray(at + 1, at + 1 + count));
    at += 1 + count;
  }
  if (at !== resp.length) throw new HwgenError(`${where}: ${resp.length - at} response words beyond the last command's`);
  return out;
}

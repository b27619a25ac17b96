import type { DecoderMemory } from './decoder.js';
import { renderTemplate, resize } from './render.js';

/**
 * An engine's layer table (MEM_LAYER), shared by the engines' tops, in one of two forms: one small memory per
 * descriptor field, indexed by layer, every field of the running layer at hand at once (renderLayerTable); or one
 * block RAM read a field per clock (renderLayerRam), which costs no flip-flops. Each field keeps the bits of the
 * register it loads; a field of width 0 is not kept. The decoder reads each field back at its width (`fields` of
 * the memory's read side), so CHECKSUM proves what the table holds.
 */
export interface LayerTable {
  /** Descriptor fields in address order, with the bits each keeps (0: not kept). */
  fields: readonly { name: string; width: number }[];
  /** Addresses per layer (a power of two). */
  stride: number;
  /** Bits of a layer index: the table has 2^L_W layers. */
  L_W: number;
  /** Prefix of the fields' localparams in hwgen_commands.vh (`LAYER_`, `XNOR_LAYER_`). */
  prefix: string;
}

/** The fields kept, each with its Verilog name (`d_<name>`) and its index's localparam in hwgen_commands.vh. */
function keptFields(t: LayerTable) {
  return t.fields
    .filter((f) => f.width > 0)
    .map((f) => {
      const name = f.name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
      return { name, width: f.width, match: `${t.prefix}${name.toUpperCase()}` };
    });
}

/** The widest field: the width of the table's read port (desc_q). */
export function tableWidth(t: LayerTable): number {
  return Math.max(...t.fields.map((f) => f.width));
}

/** Addresses of the whole table: a stride per layer. */
export const tableDepth = (t: LayerTable): number => 2 ** (t.L_W + Math.log2(t.stride));

/** MEM_LAYER as the decoder sees it: written one word per address to the one copy, read back field by field. */
export function layerMemory(t: LayerTable): DecoderMemory {
  const depth = tableDepth(t);
  return {
    mem: 'LAYER',
    write: { itemWords: 1, depth, oneCopy: true },
    read: { depth, bits: tableWidth(t), signed: false, fields: { stride: t.stride, bits: t.fields.map((f) => f.width) } },
  };
}

/**
 * The table's Verilog, inside an engine's top that declares `reg [DESC_W-1:0] desc_q` (the decoder's read port)
 * before it. Field f of the layer in `sel` is `d_<f>[sel]` (snake case).
 */
export function renderLayerTable(t: LayerTable, memBits: string): string {
  const STRIDE_BITS = Math.log2(t.stride);
  const DESC_W = tableWidth(t);
  const fields = keptFields(t).map((f) => ({ ...f, hostRead: resize(`d_${f.name}[host_layer]`, f.width, DESC_W) }));
  return renderTemplate('shell/layer_table.v.hbs', {
    fields,
    stride: t.stride,
    STRIDE_BITS,
    L_W: t.L_W,
    DESC_AW: t.L_W + STRIDE_BITS,
    MAX_LAYERS: 2 ** t.L_W,
    DESC_W,
    memBits,
  });
}

/**
 * The table as one block RAM, inside an engine's top that declares `reg [DESC_W-1:0] desc_q`: the decoder's read
 * port, and the engine's, which reads address `read.addr` (layer * stride + field) when `read.en`, never while
 * the host reads; the field is in desc_q the next clock.
 */
export function renderLayerRam(t: LayerTable, memBits: string, read: { en: string; addr: string }): string {
  const STRIDE_BITS = Math.log2(t.stride);
  const DESC_W = tableWidth(t);
  const mask = (width: number) => `${DESC_W}'h${((1n << BigInt(width)) - 1n).toString(16)}`;
  const maskExpr = keptFields(t).reduceRight((e, f) => `ld_addr[${STRIDE_BITS - 1}:0] == ${f.match} ? ${mask(f.width)} : ${e}`, `${DESC_W}'h0`);
  return renderTemplate('shell/layer_ram.v.hbs', {
    stride: t.stride,
    DESC_W,
    DESC_AW: t.L_W + STRIDE_BITS,
    DEPTH: tableDepth(t),
    maskExpr,
    memBits,
    engineRe: read.en,
    engineAddr: read.addr,
  });
}

import type { DecoderMemory } from './decoder.js';
import { renderTemplate, resize } from './render.js';

/**
 * An engine's layer table (MEM_LAYER), shared by the engines' tops: one small memory per descriptor field,
 * indexed by layer, as wide as the register the field loads (templates/shell/layer_table.v.hbs). A field of
 * width 0 is not kept. The decoder reads each field back at its width (`fields` of the memory's read side), so
 * CHECKSUM proves what the table holds.
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

const snake = (f: string) => f.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);

/** The widest field: the width of the table's read port (desc_q). */
export function tableWidth(t: LayerTable): number {
  return Math.max(...t.fields.map((f) => f.width));
}

/** MEM_LAYER as the decoder sees it: written one word per address to the one copy, read back field by field. */
export function layerMemory(t: LayerTable): DecoderMemory {
  const depth = 2 ** (t.L_W + Math.log2(t.stride));
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
  const fields = t.fields
    .filter((f) => f.width > 0)
    .map((f) => {
      const name = snake(f.name);
      return { name, width: f.width, match: `${t.prefix}${name.toUpperCase()}`, hostRead: resize(`d_${name}[host_layer]`, f.width, DESC_W) };
    });
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

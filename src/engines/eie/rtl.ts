import { FLAG_RELU_SHIFT, LAYER_FIELDS, LAYER_STRIDE, STATS_FIELDS } from '../../protocol/command-set.js';
import { commandsVerilog } from '../../protocol/emit.js';
import { configHash, type EieConfig } from './config.js';
import { hugeBlocks, type PartHints, type RamShape, type ResourceShape } from '../engine.js';
import { banner, clog2, hwFile, renderTemplate, resize, signExtend, signedLiteral } from '../../gen/render.js';
import { decoderInstance, decoderPorts, renderDecoder, type DecoderSpec } from '../../gen/decoder.js';
import { layerMemory, renderLayerRam, tableDepth, tableWidth, type LayerTable } from '../../gen/layer-table.js';

/** Widths of the engine's signals, derived once from the config (the templates only substitute them). */
export function eieWidths(c: EieConfig) {
  const ENT_W = c.vBits + c.zBits;
  const SPM_W = ENT_W * c.entriesPerWord;
  const LANE_W = Math.log2(c.entriesPerWord);
  const SPM_AW = clog2(c.spmatWords);
  const L_W = clog2(c.maxLayers);
  return {
    ACT_W: c.actBits,
    W_W: c.weightBits,
    ACC_W: c.accBits,
    V_W: c.vBits,
    Z_W: c.zBits,
    ENT_W,
    SPM_W,
    LANE_W,
    SPM_AW,
    SPM_DEPTH: 2 ** SPM_AW,
    // A pointer addresses entries, and may point one past the last.
    PTR_W: SPM_AW + LANE_W + 1,
    // At least two pointers per bank, so a bank index is never zero bits wide (ptrDepth 2: one column).
    PTR_AW: Math.max(2, clog2(c.ptrDepth)),
    ACT_AW: clog2(c.actDepth),
    BIAS_AW: clog2(c.biasDepth),
    // Columns index pointers too, so a layer never has more than ptrDepth - 1 of them.
    COL_W: clog2(Math.min(c.actDepth * c.pes, c.ptrDepth)),
    PE_W: clog2(c.pes),
    L_W,
    CB_AW: L_W + c.vBits,
    PROD_W: c.actBits + c.weightBits,
    Q_AW: clog2(c.fifoDepth),
    Q_CW: clog2(c.fifoDepth + 1),
    SPM_WORDS: Math.ceil(SPM_W / 32),
    BIAS_WORDS: Math.ceil(c.accBits / 32),
    STRIDE_BITS: Math.log2(LAYER_STRIDE),
  };
}

/** The layer table: each descriptor field keeps the bits of the register it loads (`rows`: none, the PEs never need it). */
export function eieLayerTable(c: EieConfig): LayerTable {
  const w = eieWidths(c);
  const width: Record<(typeof LAYER_FIELDS)[number], number> = {
    cols: w.COL_W + 1, rows: 0, inGroups: w.ACT_AW + 1, outGroups: w.ACT_AW + 1, ptrBase: w.PTR_AW, biasBase: w.BIAS_AW, flags: FLAG_RELU_SHIFT + 1,
  };
  return { fields: LAYER_FIELDS.map((f) => ({ name: f, width: width[f] })), stride: LAYER_STRIDE, L_W: w.L_W, prefix: 'LAYER_' };
}

/**
 * The engine's memories as the shared decoder sees them (docs/eie.md, "Memory layout per PE"): the codebook and the
 * layer table are written to all PEs at once (every PE keeps its copy of the codebook; the layer table is one);
 * an ACT burst walks PEs first, both ways. Everything a load writes reads back (READ, CHECKSUM) as it is kept.
 */
export function eieMemories(c: EieConfig): DecoderSpec {
  const w = eieWidths(c);
  return {
    pes: c.pes,
    layerSlots: 2 ** w.L_W,
    statsFields: STATS_FIELDS,
    memories: [
      {
        mem: 'CODEBOOK',
        write: { itemWords: 1, depth: 2 ** w.CB_AW, oneCopy: true },
        read: { depth: 2 ** w.CB_AW, copies: c.pes, bits: c.weightBits, signed: true },
      },
      layerMemory(eieLayerTable(c)),
      { mem: 'PTR', write: { itemWords: 1, depth: 2 ** w.PTR_AW }, read: { depth: 2 ** w.PTR_AW, copies: c.pes, bits: w.PTR_W, signed: false } },
      {
        mem: 'SPMAT',
        write: { itemWords: w.SPM_WORDS, depth: w.SPM_DEPTH },
        read: { depth: w.SPM_DEPTH, copies: c.pes, bits: w.SPM_W, signed: false },
      },
      {
        mem: 'BIAS',
        write: { itemWords: w.BIAS_WORDS, depth: 2 ** w.BIAS_AW },
        read: { depth: 2 ** w.BIAS_AW, copies: c.pes, bits: c.accBits, signed: true },
      },
      {
        mem: 'ACT',
        write: { itemWords: 1, depth: 2 ** w.ACT_AW, walk: c.pes },
        read: { depth: 2 ** w.ACT_AW, walk: c.pes, bits: c.actBits, signed: true },
      },
    ],
  };
}

/** What the STATS answer carries, word by word (STATS_FIELDS), as the top's signals. */
const STAT_SIGNALS: Record<(typeof STATS_FIELDS)[number], string> = {
  cyclesSinceReset: 'cyc_now', runCycles: 'cyc_total', broadcasts: 'cyc_bcast', broadcastStalls: 'cyc_stall',
};

function context(c: EieConfig) {
  const w = eieWidths(c);
  const hash = configHash(c);
  const dec = decoderPorts(eieMemories(c), STAT_SIGNALS);
  return {
    ...w,
    banner: banner(hash),
    pes: c.pes,
    FIFO_DEPTH: c.fifoDepth,
    EPW: c.entriesPerWord,
    MAX_LAYERS: 2 ** w.L_W,
    layerTable: renderLayerRam(eieLayerTable(c), dec.memBits, { en: 'cstate == C_SETUP', addr: '{lsel, fi}' }),
    DESC_W: tableWidth(eieLayerTable(c)),
    ...dec,
    decoderInstance: decoderInstance(
      eieMemories(c),
      { ACT: 'act_qs', CODEBOOK: 'cb_qs', LAYER: 'desc_q', PTR: 'ptr_qs', SPMAT: 'spm_qs', BIAS: 'bias_qs' },
      'cyc_total',
    ),
    CB_DEPTH: 2 ** w.CB_AW,
    PTR_BANK: 2 ** (w.PTR_AW - 1),
    BIAS_DEPTH: 2 ** w.BIAS_AW,
    ACT_DEPTH: 2 ** w.ACT_AW,
    ACT_BUF: 2 ** (w.ACT_AW + 1),
    // expressions
    colToPtr: resize('bc_col', w.COL_W, w.PTR_AW),
    spmWordAddr: `s1_cur[${w.SPM_AW + w.LANE_W - 1}:${w.LANE_W}]`,
    laneOffset: w.LANE_W ? `s2_lane * ${w.ENT_W}` : '0',
    zToRow: resize('ent_z', w.Z_W, w.ACT_AW),
    cbAddr: `{layer, ent_v}`,
    rowToBias: resize('row_k', w.ACT_AW, w.BIAS_AW),
    accMax: signedLiteral(2 ** (c.accBits - 1) - 1, c.accBits + 1),
    accMin: signedLiteral(-(2 ** (c.accBits - 1)), c.accBits + 1),
    actMax: signedLiteral(2 ** (c.actBits - 1) - 1, c.accBits + 1),
    actMin: signedLiteral(-(2 ** (c.actBits - 1)), c.accBits + 1),
    accOne: signedLiteral(1, c.accBits + 1),
    accZero: signedLiteral(0, c.accBits + 1),
    accOldWide: signExtend('acc_old', c.accBits, c.accBits + 1),
    accQWide: signExtend('acc_q', c.accBits, c.accBits + 1),
    prodWide: signExtend('s4_prod', w.PROD_W, c.accBits + 1),
    statOffset: `${w.L_W}'d${STATS_FIELDS.length % 2 ** w.L_W}`,
    hostRaddr: resize('rd_addr', dec.RD_AW, w.ACT_AW),
    hostCbAddr: resize('rd_addr', dec.RD_AW, w.CB_AW),
    hostSpmAddr: resize('rd_addr', dec.RD_AW, w.SPM_AW),
    hostBiasAddr: resize('rd_addr', dec.RD_AW, w.BIAS_AW),
    bcColExpr: `g_base + ${resize('lnzd_idx', w.PE_W, w.COL_W)}`,
    ...lnzdTree(c.pes, w.PE_W),
  };
}

/**
 * The memory attributes of the PE's single-port memories: the sparse matrix, then the activation buffers, each
 * in the part's huge RAM blocks when every PE's copy fits those left; the rest stay in block RAM.
 */
function hugeRams(c: EieConfig, part?: PartHints): { spmatStyle: string; actStyle: string } {
  const huge = part?.hugeRam;
  let left = huge?.count ?? 0;
  const style = (width: number, depth: number) => {
    if (!huge) return '';
    const blocks = c.pes * hugeBlocks(huge, width, depth);
    if (blocks > left) return '';
    left -= blocks;
    return `(* ram_style = "${huge.style}" *) `;
  };
  const w = eieWidths(c);
  return { spmatStyle: style(w.SPM_W, w.SPM_DEPTH), actStyle: style(c.actBits, 2 * 2 ** w.ACT_AW) };
}

/** The LNZD tree's nodes, level by level: node i of level l merges nodes 2i and 2i+1 of level l-1. */
function lnzdTree(n: number, peW: number) {
  const depth = Math.ceil(Math.log2(n));
  const width = 2 ** depth;
  const leaves = Array.from({ length: width }, (_, i) => ({ i, real: i < n }));
  const levels = [];
  for (let l = 1; l <= depth; l++) {
    levels.push({
      nodes: Array.from({ length: width >> l }, (_, i) => ({
        level: l,
        i,
        child: l - 1,
        left: 2 * i,
        right: 2 * i + 1,
        bits: l,
        idxLeft: l > 1 ? `{1'b0, n${l - 1}_${2 * i}_idx}` : `1'b0`,
        idxRight: l > 1 ? `{1'b1, n${l - 1}_${2 * i + 1}_idx}` : `1'b1`,
      })),
    });
  }
  return { leaves, levels, root: `n${depth}_0`, rootIdx: depth === 0 ? `${peW}'d0` : `n${depth}_0_idx` };
}

/** Every Verilog file of the engine, by file name, in a fixed order. */
export function renderEie(c: EieConfig, part?: PartHints): Map<string, string> {
  const ctx = { ...context(c), ...hugeRams(c, part) };
  return new Map([
    ['eie_top.v', renderTemplate('eie/eie_top.v.hbs', ctx)],
    ['hwgen_decoder.v', renderDecoder(eieMemories(c), ctx.banner)],
    ['hwgen_commands.vh', `${ctx.banner}\n${commandsVerilog()}`],
    ['eie_pe.v', renderTemplate('eie/eie_pe.v.hbs', ctx)],
    ['eie_lnzd.v', renderTemplate('eie/eie_lnzd.v.hbs', ctx)],
    ['hwgen_fifo.v', `${ctx.banner}\n${hwFile('hwgen_fifo.v')}`],
  ]);
}

/** The memories eie_pe.v and eie_top.v declare, by shape, and the sizes the logic grows with (PEs, their address widths). */
export function eieResourceShape(c: EieConfig, part?: PartHints): ResourceShape {
  const w = eieWidths(c);
  const huge = hugeRams(c, part);
  const pe = (name: string, width: number, depth: number, ports: RamShape['ports']): RamShape => ({ name, width, depth, copies: c.pes, ports });
  const table = eieLayerTable(c);
  return {
    memories: [
      pe('codebook', c.weightBits, 2 ** w.CB_AW, 'sdp'),
      pe('ptr_even', w.PTR_W, 2 ** (w.PTR_AW - 1), 'dp'),
      pe('ptr_odd', w.PTR_W, 2 ** (w.PTR_AW - 1), 'dp'),
      { ...pe('spmat', w.SPM_W, w.SPM_DEPTH, 'sp'), huge: huge.spmatStyle !== '' },
      pe('bias', c.accBits, 2 ** w.BIAS_AW, 'sdp'),
      pe('acc', c.accBits, 2 ** w.ACT_AW, 'sdp'),
      { ...pe('act_buf', c.actBits, 2 ** (w.ACT_AW + 1), 'sp'), huge: huge.actStyle !== '' },
      pe('queue', 2 * w.PTR_W + c.actBits, c.fifoDepth, 'sdp'),
      { name: 'cyc_layer', width: 32, depth: 2 ** w.L_W, copies: 1, ports: 'sdp', asyncRead: true },
      { name: 'layer table', width: tableWidth(table), depth: tableDepth(table), copies: 1, ports: 'sdp' },
    ],
    // Per PE, logic grows with the pointer and column arithmetic, flip-flops with the bias index (as fitted).
    terms: { pe: c.pes, peAddressBits: c.pes * (w.PTR_AW + w.COL_W), peBiasBits: c.pes * w.BIAS_AW },
  };
}

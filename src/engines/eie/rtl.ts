import { ALL_PES, STATS_FIELDS, FLAG_RELU_SHIFT, LAYER_FIELDS, LAYER_STRIDE, MEM, OP, STATUS } from '../../protocol/command-set.js';
import { configHash, type EieConfig } from './config.js';
import { banner, clog2, hwFile, renderTemplate, resize, signExtend, signedLiteral } from '../../gen/render.js';

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
    PTR_AW: clog2(c.ptrDepth),
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

const hex = (n: number) => n.toString(16).padStart(2, '0');

function context(c: EieConfig) {
  const w = eieWidths(c);
  const hash = configHash(c);
  const DESC_AW = w.L_W + w.STRIDE_BITS;
  const LD_AW = Math.max(w.CB_AW, w.PTR_AW, w.SPM_AW, w.BIAS_AW, w.ACT_AW, DESC_AW);
  const field = (f: (typeof LAYER_FIELDS)[number]) => LAYER_FIELDS.indexOf(f);
  return {
    ...w,
    banner: banner(hash),
    pes: c.pes,
    FIFO_DEPTH: c.fifoDepth,
    EPW: c.entriesPerWord,
    MAX_LAYERS: 2 ** w.L_W,
    ...Object.fromEntries(Object.entries(OP).map(([k, v]) => [`OP_${k}`, hex(v)])),
    ...Object.fromEntries(Object.entries(MEM).map(([k, v]) => [`MEM_${k}`, hex(v)])),
    ...Object.fromEntries(Object.entries(STATUS).map(([k, v]) => [`ST_${k}`, hex(v)])),
    ALL_PES: hex(ALL_PES),
    NSTATS: STATS_FIELDS.length + 2 ** w.L_W,
    F_COLS: field('cols'),
    F_IN_GROUPS: field('inGroups'),
    F_OUT_GROUPS: field('outGroups'),
    F_PTR_BASE: field('ptrBase'),
    F_BIAS_BASE: field('biasBase'),
    F_FLAGS: field('flags'),
    FLAG_RELU: FLAG_RELU_SHIFT,
    DESC_AW,
    DESC_DEPTH: 2 ** DESC_AW,
    LD_AW,
    LD_DW: 32 * Math.max(w.SPM_WORDS, w.BIAS_WORDS),
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
    statOffset: `${w.L_W}'d${(STATS_FIELDS.length - 1) % 2 ** w.L_W}`,
    inDataWide: resize('in_data', 32, 32 * Math.max(w.SPM_WORDS, w.BIAS_WORDS)),
    PTR_DEPTH_ALL: 2 ** w.PTR_AW,
    ACT_ELEMS: 2 ** w.ACT_AW * c.pes,
    readSignExtend: signExtend('host_act', c.actBits, 32),
    bcColExpr: `g_base + ${resize('lnzd_idx', w.PE_W, w.COL_W)}`,
    ...lnzdTree(c.pes, w.PE_W),
  };
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
export function renderEie(c: EieConfig): Map<string, string> {
  const ctx = context(c);
  return new Map([
    ['eie_top.v', renderTemplate('eie/eie_top.v.hbs', ctx)],
    ['eie_pe.v', renderTemplate('eie/eie_pe.v.hbs', ctx)],
    ['eie_lnzd.v', renderTemplate('eie/eie_lnzd.v.hbs', ctx)],
    ['hwgen_fifo.v', `${ctx.banner}\n${hwFile('hwgen_fifo.v')}`],
  ]);
}

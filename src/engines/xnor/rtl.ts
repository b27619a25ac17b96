import { XNOR_FLAG_SHIFT, XNOR_LAYER_FIELDS, XNOR_STATS_FIELDS, XNOR_LAYER_STRIDE } from '../../protocol/command-set.js';
import { commandsVerilog } from '../../protocol/emit.js';
import { banner, clog2, renderTemplate, resize, signExtend } from '../../gen/render.js';
import { decoderInstance, decoderPorts, renderDecoder, type DecoderSpec } from '../../gen/decoder.js';
import { layerMemory, renderLayerTable, tableWidth, type LayerTable } from '../../gen/layer-table.js';
import { xnorConfigHash, xnorDimBits, type XnorConfig } from './config.js';
import type { RamShape, ResourceShape } from '../engine.js';

/** Bits of a signed integer that holds every value in [−m, m]. */
function signedBitsFor(m: number): number {
  return Math.ceil(Math.log2(m + 1)) + 1;
}

/** Pipeline register stages of the popcount / BWN adder trees: one per two adder levels. */
export function treeLatency(c: XnorConfig): number {
  return Math.max(1, Math.ceil(Math.log2(c.simd) / 2));
}

/** Widths of the units' signals, derived once from the config. */
export function xnorWidths(c: XnorConfig) {
  const B = Math.max(1, c.bwnLanes);
  const PC_W = clog2(c.simd + 1);
  // popcount 0..K as a signed value, and never narrower than one fold's count (K may be below S)
  const XACC_W = Math.max(Math.ceil(Math.log2(c.maxCols + 1)) + 1, PC_W + 1);
  // the BWN sum, and never narrower than the adder tree's root (K may be below B)
  const BACC_W = c.bwnLanes ? Math.max(signedBitsFor(c.maxCols * 2 ** (c.actBits - 1)), c.actBits + 1 + Math.ceil(Math.log2(B))) : 0;
  const ACC_W = Math.max(XACC_W, BACC_W);
  const TH_W = ACC_W + 1; // thresholds reach max + 1
  const PARAM_W = Math.max(TH_W + 1, c.accBits);
  const DOT_W = ACC_W + 1;
  const PROD_W = c.weightBits + DOT_W;
  const SUM_W = Math.max(PROD_W, c.accBits) + 2; // + bias, + the rounding half
  const GROUPS = Math.ceil(c.maxRows / c.pe);
  // Folds per output row: kernel pixels × words per pixel, at most K (a pixel's words never exceed its channels).
  const FOLDS = c.maxCols;
  const BUF_AW = clog2(c.bufWords);
  const IN_AW = c.bwnLanes ? clog2(c.inWords) : 1;
  return {
    P: c.pe,
    S: c.simd,
    B,
    BWN: c.bwnLanes > 0,
    ACT_W: c.actBits,
    A_W: c.weightBits,
    BIAS_W: c.accBits,
    PC_W,
    ACC_W,
    TH_W,
    PARAM_W,
    DOT_W,
    PROD_W,
    SUM_W,
    LANE_W: clog2(c.simd + 1),
    SUBS: c.simd / B,
    SUB_W: clog2(c.simd / B),
    W_AW: clog2(c.weightDepth),
    P_AW: clog2(c.paramDepth),
    G_W: Math.max(clog2(GROUPS + 1), clog2(c.simd / c.pe) + 1),
    F_W: clog2(FOLDS + 1),
    K_W: clog2(c.maxCols + 1),
    M_W: clog2(c.maxRows + 1),
    BUF_AW,
    IN_AW,
    /** Window word addresses: modulo 2^X_AW, so a window starting in the padding wraps and comes back. */
    X_AW: Math.max(BUF_AW, IN_AW),
    /** Signed window coordinates and the map / window sizes. */
    D_W: xnorDimBits(c),
    SC_AW: clog2(GROUPS),
    L_W: clog2(c.maxLayers),
    SLOT_W: clog2(c.simd / c.pe),
    SLOTS: c.simd / c.pe,
    PE_W: clog2(c.pe),
    BANK_W: clog2(B),
    ITEM_WORDS: Math.ceil(c.simd / 32),
    PARAM_WORDS: Math.ceil(Math.max(TH_W + 1, c.accBits) / 32),
    LAT: treeLatency(c),
  };
}

/** The layer table: each descriptor field keeps the bits of the register it loads (`rows`: none, the units never need it). */
export function xnorLayerTable(c: XnorConfig): LayerTable {
  const w = xnorWidths(c);
  const width: Record<(typeof XNOR_LAYER_FIELDS)[number], number> = {
    cols: w.K_W, rows: 0, folds: w.F_W, groups: w.G_W, wBase: w.W_AW, pBase: w.P_AW, flags: XNOR_FLAG_SHIFT + 6, lastLanes: w.LANE_W,
    inH: w.D_W, inW: w.D_W, kernelW: w.D_W, pool: w.D_W, originY: w.D_W, originX: w.D_W, outH: w.D_W, outW: w.D_W,
    pixWords: w.F_W, outPixWords: w.BUF_AW, rowWords: w.X_AW, startAddr: w.X_AW, poolStep: w.X_AW, poolRowStep: w.X_AW,
  };
  return { fields: XNOR_LAYER_FIELDS.map((f) => ({ name: f, width: width[f] })), stride: XNOR_LAYER_STRIDE, L_W: w.L_W, prefix: 'XNOR_LAYER_' };
}

/**
 * The units' memories as the shared decoder sees them (docs/xnor.md, "Memory layout and commands"): ACT writes the
 * BWN input banks (walking lanes) and reads the scores (walking PEs); XBITS is the binary buffer the host fills
 * and reads back, one copy. Everything a load writes reads back (READ, CHECKSUM) as it is kept: each PE's
 * weights, thresholds and α, and each descriptor field at its width (`rows` is not kept: the units never need it).
 */
export function xnorMemories(c: XnorConfig): DecoderSpec {
  const w = xnorWidths(c);
  return {
    pes: c.pe,
    layerSlots: 2 ** w.L_W,
    statsFields: XNOR_STATS_FIELDS,
    memories: [
      layerMemory(xnorLayerTable(c)),
      {
        mem: 'ACT',
        write: { itemWords: 1, depth: 2 ** w.IN_AW, walk: w.B },
        read: { depth: 2 ** w.SC_AW, walk: c.pe, bits: c.actBits, signed: true },
      },
      { mem: 'XWEIGHT', write: { itemWords: w.ITEM_WORDS, depth: 2 ** w.W_AW }, read: { depth: 2 ** w.W_AW, copies: c.pe, bits: c.simd, signed: false } },
      { mem: 'XPARAM', write: { itemWords: w.PARAM_WORDS, depth: 2 ** w.P_AW }, read: { depth: 2 ** w.P_AW, copies: c.pe, bits: w.PARAM_W, signed: false } },
      { mem: 'XALPHA', write: { itemWords: 1, depth: 2 ** w.P_AW }, read: { depth: 2 ** w.P_AW, copies: c.pe, bits: c.weightBits, signed: true } },
      {
        mem: 'XBITS',
        write: { itemWords: w.ITEM_WORDS, depth: 2 ** w.BUF_AW, oneCopy: true },
        read: { depth: 2 ** w.BUF_AW, bits: c.simd, signed: false },
      },
    ],
  };
}

/** What the STATS answer carries, word by word (XNOR_STATS_FIELDS), as the top's signals. */
const STAT_SIGNALS: Record<(typeof XNOR_STATS_FIELDS)[number], string> = {
  cyclesSinceReset: 'cyc_now', runCycles: 'cyc_total', folds: 'fold_count',
};

/**
 * An adder tree over `n` inputs named `in_k`, each `w` bits, as levels of nodes for the template; `stages`
 * register stages spread over the levels (extra ones delay the result). Signed trees sign-extend.
 */
function adderTree(n: number, w: number, signed: boolean, stages: number) {
  const depth = Math.ceil(Math.log2(n));
  const regAfter = new Set<number>();
  for (let j = 1; j <= Math.min(stages, depth); j++) regAfter.add(Math.ceil((j * depth) / Math.min(stages, depth)));
  const ext = (e: string, from: number) => (signed ? signExtend(e, from, from + 1) : `{1'b0, ${e}}`);
  const nodes: { decl: string; name: string; width: number; expr: string; reg: boolean }[] = [];
  let names = Array.from({ length: n }, (_, k) => `in_${k}`);
  let width = w;
  for (let l = 1; l <= depth; l++) {
    const next: string[] = [];
    const reg = regAfter.has(l);
    for (let i = 0; i < names.length; i += 2) {
      const name = `t${l}_${i >> 1}`;
      const expr = i + 1 < names.length ? `${ext(names[i], width)} + ${ext(names[i + 1], width)}` : ext(names[i], width);
      nodes.push({ decl: reg ? 'reg ' : 'wire', name, width: width + 1, expr, reg });
      next.push(name);
    }
    names = next;
    width++;
  }
  // Extra stages (a tree shallower than the pipeline) delay the sum.
  for (let j = regAfter.size; j < stages; j++) {
    const name = `d${j}`;
    nodes.push({ decl: 'reg ', name, width, expr: names[0], reg: true });
    names = [name];
  }
  return { nodes, root: names[0], rootWidth: width };
}

/** Bit offset of a group's P output bits inside its S-bit word: (g mod S/P) · P, P a power of two. */
function slotOffset(slots: number, pe: number) {
  const log2P = Math.log2(pe);
  const slotW = Math.log2(slots);
  const width = Math.max(1, slotW + log2P);
  if (slots === 1) return { OFF_W: width, slotOffsetExpr: `${width}'d0` };
  const g = `c_g[${slotW - 1}:0]`;
  return { OFF_W: width, slotOffsetExpr: log2P === 0 ? g : `{${g}, ${log2P}'d0}` };
}

/** `reg <= {reg[n-2:0], input}` for a shift register of n stages of `width` bits. */
function shiftIn(reg: string, input: string, width: number, n: number): string {
  return n > 1 ? `{${reg}[${(n - 1) * width - 1}:0], ${input}}` : input;
}

function context(c: XnorConfig) {
  const w = xnorWidths(c);
  const dec = decoderPorts(xnorMemories(c), STAT_SIGNALS);
  const LD_DW = dec.LD_DW;
  const pop = adderTree(c.simd, 1, false, w.LAT);
  const bwn = adderTree(w.B, c.actBits + 1, true, w.LAT);
  return {
    ...w,
    banner: banner(xnorConfigHash(c)),
    MAX_LAYERS: 2 ** w.L_W,
    layerTable: renderLayerTable(xnorLayerTable(c), dec.memBits),
    FLAGS_W: XNOR_FLAG_SHIFT + 6,
    ...dec,
    decoderInstance: decoderInstance(
      xnorMemories(c),
      { ACT: 's_qs', XBITS: 'buf_q', LAYER: 'desc_q', XWEIGHT: 'w_qs', XPARAM: 'param_qs', XALPHA: 'alpha_qs' },
      'cyc_total',
    ),
    DESC_W: tableWidth(xnorLayerTable(c)),
    hostWAddr: resize('rd_addr', dec.RD_AW, w.W_AW),
    hostPAddr: resize('rd_addr', dec.RD_AW, w.P_AW),
    W_DEPTH: 2 ** w.W_AW,
    P_DEPTH: 2 ** w.P_AW,
    BUF_DEPTH: 2 ** (w.BUF_AW + 1),
    IN_DEPTH: 2 ** w.IN_AW,
    SC_DEPTH: 2 ** w.SC_AW,
    // expressions
    allOnesS: `{${c.simd}{1'b1}}`,
    allOnesB: `{${w.B}{1'b1}}`,
    allOnesP: `{${c.pe}{1'b1}}`,
    ...slotOffset(w.SLOTS, c.pe),
    accToTh: signExtend('acc', w.ACC_W, w.TH_W),
    accToDot: signExtend('acc', w.ACC_W, w.DOT_W),
    pcToAcc: `{${w.ACC_W - w.PC_W}'d0, pc}`,
    bsumToAcc: w.BWN ? signExtend('bsum', bwn.rootWidth, w.ACC_W) : '',
    prodToSum: signExtend('prod', w.PROD_W, w.SUM_W),
    biasToSum: signExtend('bias_d', c.accBits, w.SUM_W),
    actMax: `${w.SUM_W}'sd${2 ** (c.actBits - 1) - 1}`,
    actMin: `-${w.SUM_W}'sd${2 ** (c.actBits - 1)}`,
    colsToDot: resize('cols', w.K_W, w.DOT_W),
    termZero: `${c.actBits + 1}'d0`,
    sumZero: `${w.SUM_W}'sd0`,
    sumOne: `${w.SUM_W}'sd1`,
    actMaxQ: `${c.actBits}'d${2 ** (c.actBits - 1) - 1}`,
    actMinQ: `${c.actBits}'d${2 ** (c.actBits - 1)}`,
    hostBufRaddr: `{src_sel, ${resize('rd_addr', dec.RD_AW, w.BUF_AW)}}`,
    hostScoreAddr: resize('rd_addr', dec.RD_AW, w.SC_AW),
    fullLanes: w.BWN ? `(fixed_in ? ${w.LANE_W}'d${w.B} : ${w.LANE_W}'d${c.simd})` : `${w.LANE_W}'d${c.simd}`,
    subLast: `${w.SUB_W}'d${w.SUBS - 1}`,
    latZero: `${w.LAT}'d0`,
    shV: shiftIn('sh_v', 'r_valid', 1, w.LAT),
    shF: shiftIn('sh_f', 'r_first', 1, w.LAT),
    shL: shiftIn('sh_l', 'r_last', 1, w.LAT),
    shG: shiftIn('sh_g', 'r_g', w.G_W, w.LAT),
    shPF: shiftIn('sh_pf', 'r_pf', 1, w.LAT),
    shPL: shiftIn('sh_pl', 'r_pl', 1, w.LAT),
    pixToX: resize('pix_words', w.F_W, w.X_AW),
    bbufRunAddr: `{src_sel, ${resize('x_addr', w.X_AW, w.BUF_AW)}}`,
    xToIn: resize('x_addr', w.X_AW, w.IN_AW),
    zeroB: `${w.B}'d0`,
    aGToP: resize('a_g', w.G_W, w.P_AW),
    eGToSc: resize('e_g', w.G_W, w.SC_AW),
    bitsToS: resize('pooled', c.pe, c.simd),
    onesPToS: resize(`{${c.pe}{1'b1}}`, c.pe, c.simd),
    slotLastExpr: w.SLOTS > 1 ? `(c_g[${w.SLOT_W - 1}:0] == ${w.SLOT_W}'d${w.SLOTS - 1})` : `1'b1`,
    wordOfG:
      w.SLOTS === 1
        ? resize('c_g', w.G_W, w.BUF_AW)
        : w.G_W - w.SLOT_W >= w.BUF_AW
          ? `c_g[${w.SLOT_W + w.BUF_AW - 1}:${w.SLOT_W}]`
          : resize(`c_g[${w.G_W - 1}:${w.SLOT_W}]`, w.G_W - w.SLOT_W, w.BUF_AW),
    statOffset: `${w.L_W}'d${XNOR_STATS_FIELDS.length % 2 ** w.L_W}`,
    popNodes: pop.nodes,
    popRoot: pop.root,
    popRootW: pop.rootWidth,
    popInputs: Array.from({ length: c.simd }, (_, k) => ({ k })),
    bwnNodes: bwn.nodes,
    bwnRoot: bwn.root,
    bwnRootW: bwn.rootWidth,
    bwnInputs: Array.from({ length: w.B }, (_, k) => ({ k, w: c.actBits + 1 })),
    BSUM_W: bwn.rootWidth,
    pcFromRoot: pop.rootWidth === w.PC_W ? pop.root : `${pop.root}[${w.PC_W - 1}:0]`,
  };
}

/** Every Verilog file of the XNOR units, by file name, in a fixed order. */
export function renderXnor(c: XnorConfig): Map<string, string> {
  const ctx = context(c);
  const files = new Map<string, string>([
    ['xnor_top.v', renderTemplate('xnor/xnor_top.v.hbs', ctx)],
    ['hwgen_decoder.v', renderDecoder(xnorMemories(c), ctx.banner)],
    ['hwgen_commands.vh', `${ctx.banner}\n${commandsVerilog()}`],
    ['xnor_pe.v', renderTemplate('xnor/xnor_pe.v.hbs', ctx)],
    ['xnor_popcount.v', renderTemplate('xnor/xnor_popcount.v.hbs', ctx)],
    ['xnor_swg.v', renderTemplate('xnor/xnor_swg.v.hbs', ctx)],
  ]);
  if (c.bwnLanes > 0) files.set('xnor_bwn_sum.v', renderTemplate('xnor/xnor_bwn_sum.v.hbs', ctx));
  return files;
}

/** The memories xnor_pe.v and xnor_top.v declare, by shape, and the sizes the logic grows with (rows, their lanes). */
export function xnorResourceShape(c: XnorConfig): ResourceShape {
  const w = xnorWidths(c);
  const pe = (name: string, width: number, depth: number): RamShape => ({ name, width, depth, copies: c.pe, ports: 'sdp' });
  const one = (name: string, width: number, depth: number, copies = 1): RamShape => ({ name, width, depth, copies, ports: 'sdp' });
  return {
    memories: [
      pe('wmem', c.simd, 2 ** w.W_AW),
      pe('pmem', w.PARAM_W, 2 ** w.P_AW),
      pe('amem', c.weightBits, 2 ** w.P_AW),
      pe('smem', c.actBits, 2 ** w.SC_AW),
      one('bbuf', c.simd, 2 ** (w.BUF_AW + 1)),
      ...(w.BWN ? [one('ibuf', c.actBits, 2 ** w.IN_AW, w.B)] : []),
      { ...one('cyc_layer', 32, 2 ** w.L_W), asyncRead: true },
      ...xnorLayerTable(c).fields.filter((f) => f.width > 0).map((f) => one(`layer ${f.name}`, f.width, 2 ** w.L_W)),
    ],
    // Per row: the XNOR lanes' popcount and the BWN lanes' adders (16 BWN lanes cost more than 64 XNOR lanes).
    terms: { pe: c.pe, lane: c.pe * c.simd, bwnLane: c.pe * c.bwnLanes },
  };
}

import { MEM, type Mem } from '../protocol/command-set.js';
import { CRC32_POLY } from '../protocol/link.js';
import { clog2, renderTemplate, resize, signExtend } from './render.js';

/**
 * The one command decoder both engines' tops instantiate (templates/shell/hwgen_decoder.v.hbs; its ports are in
 * docs/commands.md, "The decoder in RTL"). An engine describes its memories as data; every decision the decoder's
 * Verilog needs (which codes exist, items' words, depths, walks, widths) is made here.
 */
export interface DecoderMemory {
  mem: Mem;
  /** How a WRITE fills it; absent: not writable (BAD_MEM). */
  write?: {
    /** 32-bit stream words per item (least significant first). */
    itemWords: number;
    /** Items per PE (or lane): a burst from addr must end at or before it. */
    depth: number;
    /** A burst walks this many lanes first (item i: lane i mod walk, address i div walk), unless pe = ALL_PES. */
    walk?: number;
    /** One copy for all PEs: every write goes to ALL_PES, whatever PE the address word names. */
    oneCopy?: boolean;
  };
  /** How a READ (and CHECKSUM) answers from it; absent: not readable (BAD_MEM). */
  read?: {
    depth: number;
    walk?: number;
    /** Copies the engine keeps of a memory that does not walk, one per PE (lane p of its port); absent: one. */
    copies?: number;
    /** Bits of one item (of one lane); an item answers ceil(bits / 32) words. */
    bits: number;
    /** Sign-extend the item to whole words. */
    signed: boolean;
    /**
     * A memory whose items keep different widths by address (a descriptor's fields): item a keeps
     * bits[a mod stride] bits, zero-extended (none past the list). Absent: every item keeps `bits`.
     */
    fields?: { stride: number; bits: readonly number[] };
  };
}

export interface DecoderSpec {
  /** PEs an address word may name (0 .. pes - 1) for a memory that does not walk. */
  pes: number;
  memories: DecoderMemory[];
  /** Slots of the layer table: RUN refuses more layers (BAD_ADDR), the table would wrap. */
  layerSlots: number;
  /** The engine's STATS fields; a STATS answer carries them, then one compute-cycle count per layer slot. */
  statsFields: readonly string[];
}

const words = (bits: number) => Math.ceil(bits / 32);

/** Widths of the decoder's engine-side ports: the engine's memories are built to match them. */
export function decoderWidths(spec: DecoderSpec) {
  const wr = spec.memories.filter((m) => m.write);
  const rd = spec.memories.filter((m) => m.read);
  const ITEM_WORDS = Math.max(...wr.map((m) => m.write!.itemWords));
  const RD_WORDS = Math.max(1, ...rd.map((m) => words(m.read!.bits)));
  return {
    /** Low bits of a memory code the engine sees: enough for its largest code. */
    MEM_W: clog2(Math.max(...spec.memories.map((m) => MEM[m.mem])) + 1),
    LD_AW: Math.max(...wr.map((m) => clog2(m.write!.depth))),
    LD_DW: 32 * ITEM_WORDS,
    RD_AW: Math.max(1, ...rd.map((m) => clog2(m.read!.depth))),
    ITEM_WORDS,
    RD_WORDS,
    /** Counts a word within a written or a read item. */
    WI_W: clog2(Math.max(ITEM_WORDS, RD_WORDS)),
  };
}

/**
 * What an engine's top needs to meet the decoder: its port widths, the slice of a memory code the engine compares
 * (`MEM_X[2:0]`), and the STATS word for stat_idx (the fields' signals, then the layer slots' counters, which the
 * top keeps in `cyc_layer`, indexed by `stat_li`).
 */
export function decoderPorts(spec: DecoderSpec, statSignals: Record<string, string>) {
  const w = decoderWidths(spec);
  return {
    LD_AW: w.LD_AW,
    LD_DW: w.LD_DW,
    MEM_W: w.MEM_W,
    RD_AW: w.RD_AW,
    memBits: `[${w.MEM_W - 1}:0]`,
    statWord: spec.statsFields.reduceRight((e, f, i) => `stat_idx == 16'd${i} ? ${statSignals[f]} : ${e}`, 'cyc_layer[stat_li]'),
  };
}

/**
 * The decoder's instance in an engine's top, with a wire for each of its engine-side ports (run_done and stat_word
 * are the engine's to assign). `reads` names the engine's signal for each readable memory (all lanes), `runCycles`
 * the count RUN answers with; both are declared by the top before this text.
 */
export function decoderInstance(spec: DecoderSpec, reads: Partial<Record<Mem, string>>, runCycles: string): string {
  const w = decoderWidths(spec);
  const wires: [string, string][] = [
    ['', 'ld_valid'], [`[${w.MEM_W}-1:0]`, 'ld_mem'], ['[7:0]', 'ld_pe'], [`[${w.LD_AW}-1:0]`, 'ld_addr'], [`[${w.LD_DW}-1:0]`, 'ld_data'],
    ['', 'rd_en'], [`[${w.RD_AW}-1:0]`, 'rd_addr'], ['', 'run_req'], ['[15:0]', 'run_layers'], ['', 'run_done'],
    ['[15:0]', 'stat_idx'], ['[31:0]', 'stat_word'],
  ];
  const rd = spec.memories.filter((m) => m.read).map((m) => `.rd_${m.mem.toLowerCase()}(${reads[m.mem]})`);
  return [
    ...wires.map(([range, name]) => `    wire ${range.padEnd(16)} ${name};`),
    '    hwgen_decoder decoder (',
    '        .clk(clk), .rst(rst),',
    '        .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),',
    '        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready), .idle(idle),',
    '        .ld_valid(ld_valid), .ld_mem(ld_mem), .ld_pe(ld_pe), .ld_addr(ld_addr), .ld_data(ld_data),',
    `        .rd_en(rd_en), .rd_addr(rd_addr), ${rd.join(', ')},`,
    `        .run_req(run_req), .run_layers(run_layers), .run_done(run_done), .run_cycles(${runCycles}),`,
    '        .stat_idx(stat_idx), .stat_word(stat_word)',
    '    );',
  ].join('\n');
}

/** Lanes of a readable memory's port: the lanes it walks, or its copies. */
export function readLanes(m: DecoderMemory): number {
  return m.read?.walk ?? m.read?.copies ?? 1;
}

/** `mem == MEM_A || mem == MEM_B`, or `1'b0` for none. */
function isMem(mems: Mem[]): string {
  return mems.length ? mems.map((m) => `mem == MEM_${m}`).join(' || ') : `1'b0`;
}

/**
 * A chain `(mem == A) ? x : (mem == B) ? y : otherwise` over memories grouped by equal values, so a value many
 * memories share is one term.
 */
function byMem<T>(mems: DecoderMemory[], value: (m: DecoderMemory) => T, lit: (v: T) => string, otherwise: T): string {
  const groups = new Map<string, Mem[]>();
  for (const m of mems) {
    const v = lit(value(m));
    if (v === lit(otherwise)) continue;
    groups.set(v, [...(groups.get(v) ?? []), m.mem]);
  }
  let expr = lit(otherwise);
  for (const [v, ms] of [...groups].reverse()) expr = `(${isMem(ms)}) ? ${v} : ${expr}`;
  return expr;
}

function context(spec: DecoderSpec, banner: string) {
  const w = decoderWidths(spec);
  const wr = spec.memories.filter((m) => m.write);
  const rd = spec.memories.filter((m) => m.read);
  const same = (m: DecoderMemory) =>
    !m.write || !m.read || (m.write.depth === m.read.depth && (m.write.walk ?? 0) === (m.read.walk ?? 0));
  // What a burst covers, by direction where a memory's write and read sides differ (XNOR's ACT: BWN input
  // banks written, scores read).
  const accesses = spec.memories.flatMap((m) => {
    const sides = (['write', 'read'] as const).filter((d) => m[d]);
    return sides.map((d) => ({
      mem: m.mem,
      match: same(m) ? `mem == MEM_${m.mem}` : `mem == MEM_${m.mem} && ${d === 'read' ? '' : '!'}reads`,
      depth: m[d]!.depth,
      walk: m[d]!.walk,
    })).filter((a, i) => !(same(m) && i > 0));
  });
  const walking = accesses.filter((a) => a.walk !== undefined);
  // A memory walking both ways is one term; otherwise each walking side is.
  const walkAll = spec.memories.filter((m) => (['write', 'read'] as const).every((d) => !m[d] || m[d]!.walk !== undefined));
  const walkMatch = [
    ...walkAll.map((m) => `mem == MEM_${m.mem}`),
    ...walking.filter((a) => !walkAll.some((m) => m.mem === a.mem)).map((a) => `(${a.match})`),
  ];
  const chain = (list: typeof accesses, v: (a: (typeof accesses)[number]) => string, otherwise: string) =>
    list.reduceRight((e, a) => `(${a.match}) ? ${v(a)} : ${e}`, otherwise);
  const lanesOf = [...new Set(walking.map((a) => a.walk!))];
  const lanes = (bits: number) =>
    lanesOf.length <= 1
      ? `${bits}'d${lanesOf[0] ?? 1}`
      : `(${chain(walking.slice(0, -1), (a) => `${bits}'d${a.walk}`, `${bits}'d${walking.at(-1)!.walk}`)})`;
  // Widths of the range check: an address is at most the deepest memory's depth (ADDR_W bits of the address
  // word's 24); a burst's end, address × lanes + lane + count, fits END_W.
  const ADDR_W = Math.min(24, clog2(Math.max(...accesses.map((a) => a.depth)) + 1));
  const maxLanes = Math.max(1, ...walking.map((a) => a.walk!));
  const END_W = clog2((2 ** ADDR_W - 1) * maxLanes + 0xff + 0xffff + 1);
  // Items a burst may cover: a walking burst spans every lane's copy.
  const span = (a: (typeof accesses)[number]) =>
    a.walk !== undefined ? `(walks ? ${END_W}'d${a.depth * a.walk} : ${END_W}'d${a.depth})` : `${END_W}'d${a.depth}`;
  const depth = chain(accesses.slice(0, -1), span, span(accesses.at(-1)!));
  const wi = (n: number) => `${w.WI_W}'d${n}`;
  // A walk steps the lane, then the address; separately for writes and reads.
  const walkOf = (d: 'write' | 'read') => {
    const ms = spec.memories.filter((m) => m[d]?.walk !== undefined);
    const last = byMem(ms, (m) => m[d]!.walk! - 1, (v) => `8'd${v}`, ms.length ? ms[0][d]!.walk! - 1 : 0);
    return { walk: isMem(ms.map((m) => m.mem)), last };
  };
  const RDX_W = 32 * w.RD_WORDS;
  const readPorts = rd.map((m) => {
    const lanes = readLanes(m);
    const bits = m.read!.bits;
    const port = `rd_${m.mem.toLowerCase()}`;
    const pick = lanes > 1 ? `${port}[pe_sel[${clog2(lanes) - 1}:0]*${bits} +: ${bits}]` : port;
    return { mem: m.mem, port, width: lanes * bits, pick, item: `${port}_item`, bits, signed: m.read!.signed };
  });
  const extend = (p: (typeof readPorts)[number]) => (p.signed ? signExtend(p.item, p.bits, RDX_W) : resize(p.item, p.bits, RDX_W));
  const rdExt = readPorts.length
    ? readPorts.slice(0, -1).reduceRight((e, p) => `(mem == MEM_${p.mem}) ? ${extend(p)} : ${e}`, extend(readPorts.at(-1)!))
    : `${RDX_W}'d0`;
  const multiRead = w.RD_WORDS > 1;
  return {
    banner,
    ...w,
    RDX_W,
    PES: spec.pes,
    MAX_LAYERS: spec.layerSlots,
    NSTATS: spec.statsFields.length + spec.layerSlots,
    writable: isMem(wr.map((m) => m.mem)),
    readable: isMem(rd.map((m) => m.mem)),
    oneCopy: isMem(wr.filter((m) => m.write!.oneCopy).map((m) => m.mem)),
    itemLast: byMem(wr, (m) => m.write!.itemWords - 1, wi, 0),
    readLast: byMem(rd, (m) => words(m.read!.bits) - 1, wi, 0),
    readWords: byMem(rd, (m) => words(m.read!.bits), (n) => (n === 1 ? 'count' : `count * 16'd${n}`), 1),
    walkMatch: walkMatch.length ? walkMatch.join(' || ') : `1'b0`,
    walkLanes: lanes(END_W),
    ADDR_W,
    END_W,
    addrWide: resize('addr_lo', ADDR_W, END_W),
    peWide: resize('addr_pe', 8, END_W),
    countWide: resize('count', 16, END_W),
    addrSmall: ADDR_W < 24 ? `in_data[23:${ADDR_W}] == ${24 - ADDR_W}'d0 && ` : '',
    // a walking burst names a lane, any other a PE
    peLimit: lanesOf.every((l) => l === spec.pes) ? `8'd${spec.pes}` : `(walks ? ${lanes(8)} : 8'd${spec.pes})`,
    memDepth: depth,
    wWalk: walkOf('write'),
    rWalk: walkOf('read'),
    // the item so far (none at its first word) with this word in place
    ldNext: w.ITEM_WORDS === 1 ? 'in_data' : `(word_idx == ${w.WI_W}'d0 ? ${w.LD_DW}'d0 : ld_data) | (${resize('in_data', 32, w.LD_DW)} << {word_idx, 5'd0})`,
    readPorts,
    rdExt,
    multiRead,
    memBits: `[${w.MEM_W - 1}:0]`,
    crcPoly: CRC32_POLY.toString(16).padStart(8, '0'),
  };
}

/** hwgen_decoder.v for an engine's memory table. */
export function renderDecoder(spec: DecoderSpec, banner: string): string {
  return renderTemplate('shell/hwgen_decoder.v.hbs', context(spec, banner));
}

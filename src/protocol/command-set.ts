/**
 * The engines' word-stream command set: 32-bit words in, 32-bit words out, valid/ready on both sides.
 * Defined once here; src/protocol/emit.ts writes it into the Verilog include, the C header and the docs.
 *
 * A command is a header word, then for WRITE and READ an address word, then for WRITE the data words:
 *   header  = op[31:24] | mem[23:16] | count[15:0]
 *   address = pe[31:24] | addr[23:0]          (pe = ALL_PES writes every PE's copy)
 * Every command answers with a status word  op[31:24] | status[23:16] | count[15:0]  followed by
 * `count` data words (READ: the values, RUN: the cycle count, STATS: the counters, CHECKSUM: one CRC-32).
 * CHECKSUM takes an address word like READ and answers the CRC-32 of the words that READ of the same range
 * would answer (checksumOf), computed in hardware: the host proves what a memory holds without reading it back.
 * For MEM.ACT the item counter walks PEs first: element i of a vector is PE i mod N, index i div N,
 * so a whole vector is one burst starting at (pe 0, addr 0).
 */
export const OP = {
  NOP: 0x00,
  WRITE: 0x01,
  READ: 0x02,
  RUN: 0x03,
  STATS: 0x04,
  CHECKSUM: 0x05,
} as const;

export const MEM = {
  CODEBOOK: 0x01,
  LAYER: 0x02,
  PTR: 0x03,
  SPMAT: 0x04,
  BIAS: 0x05,
  ACT: 0x06,
  // The XNOR units (docs/xnor.md). LAYER takes their descriptors (XNOR_LAYER_FIELDS); ACT writes the BWN input
  // (element i to lane i mod B, word i div B) and reads the scores (element i from PE i mod P, group i div P).
  XWEIGHT: 0x07,
  XPARAM: 0x08,
  XALPHA: 0x09,
  XBITS: 0x0a,
} as const;

export const STATUS = {
  OK: 0x00,
  BAD_OPCODE: 0x01,
  BAD_MEM: 0x02,
  BAD_ADDR: 0x03,
} as const;

export const ALL_PES = 0xff;

/** Fields of a layer descriptor: MEM.LAYER address = layer × LAYER_STRIDE + field index. */
export const LAYER_FIELDS = ['cols', 'rows', 'inGroups', 'outGroups', 'ptrBase', 'biasBase', 'flags'] as const;
export const LAYER_STRIDE = 8;
/** flags = relu << 8 | wFrac */
export const FLAG_RELU_SHIFT = 8;

export type Op = keyof typeof OP;
export type Mem = keyof typeof MEM;

export function header(op: number, mem: number, count: number): number {
  return ((op << 24) | (mem << 16) | (count & 0xffff)) >>> 0;
}

export function addressWord(pe: number, addr: number): number {
  return ((pe << 24) | (addr & 0xffffff)) >>> 0;
}

/** The fields of a command's header word: header()'s inverse, the one place a header is taken apart. */
export function parseHeader(word: number): { op: number; mem: number; count: number } {
  return { op: word >>> 24, mem: (word >>> 16) & 0xff, count: word & 0xffff };
}

/** The fields of a WRITE, READ or CHECKSUM's address word: addressWord()'s inverse. */
export function parseAddress(word: number): { pe: number; addr: number } {
  return { pe: word >>> 24, addr: word & 0xffffff };
}

/** The fields of a status word (the first word of every answer). */
export function parseStatus(word: number): { op: number; status: number; count: number } {
  return { op: word >>> 24, status: (word >>> 16) & 0xff, count: word & 0xffff };
}

/** The words STATS answers with, in order; one compute-cycle count per layer slot follows them. */
export const STATS_FIELDS = ['cyclesSinceReset', 'runCycles', 'broadcasts', 'broadcastStalls'] as const;

/** Largest burst one header can carry. */
export const MAX_BURST = 0xffff;

/** Fields of an XNOR layer descriptor: MEM.LAYER address = layer × XNOR_LAYER_STRIDE + field index. */
export const XNOR_LAYER_FIELDS = [
  'cols', 'rows', 'folds', 'groups', 'wBase', 'pBase', 'flags', 'lastLanes',
  // the sliding-window generator (docs/xnor.md, "The hardware"): input map, window, pooled output, word strides
  'inH', 'inW', 'kernelW', 'pool', 'originY', 'originX', 'outH', 'outW',
  'pixWords', 'outPixWords', 'rowWords', 'startAddr', 'poolStep', 'poolRowStep',
] as const;
/** XNOR layer descriptors: MEM.LAYER address = layer × XNOR_LAYER_STRIDE + field index (the EIE engine keeps LAYER_STRIDE). */
export const XNOR_LAYER_STRIDE = 32;
/** XNOR flags = shift << XNOR_FLAG_SHIFT | scores << 1 | fixedInput. */
export const XNOR_FLAG_FIXED = 0x1;
export const XNOR_FLAG_SCORES = 0x2;
export const XNOR_FLAG_SHIFT = 8;
/** The words STATS answers with on the XNOR units; one compute-cycle count per layer slot follows them. */
export const XNOR_STATS_FIELDS = ['cyclesSinceReset', 'runCycles', 'folds'] as const;

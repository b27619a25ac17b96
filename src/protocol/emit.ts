import {
  ALL_PES, FLAG_RELU_SHIFT, LAYER_FIELDS, LAYER_STRIDE, MAX_BURST, MEM, OP, STATS_FIELDS, STATUS,
  XNOR_FLAG_FIXED, XNOR_FLAG_SCORES, XNOR_FLAG_SHIFT, XNOR_LAYER_FIELDS, XNOR_LAYER_STRIDE, XNOR_STATS_FIELDS,
} from './command-set.js';
import { HWGEN_VERSION } from '../paths.js';

/**
 * The command set of src/protocol/command-set.ts written out for people (docs/commands.md), for C programs on a
 * board (hwgen_commands.h) and for the RTL (hwgen_commands.vh). Nothing here is a second definition: every number
 * comes from command-set.ts. Pure text, no I/O.
 */
const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
/** camelCase → SNAKE_CASE, for C and Verilog names of descriptor and STATS fields. */
export const snake = (f: string) => f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
const bit = (mask: number) => Math.log2(mask);

/** The decoder interface the engines' RTL shares (docs/commands.md, "The decoder in RTL"), for the docs. */
const DECODER_DOC = `## The decoder in RTL

Both engines parse this stream with one generated module, \`hwgen_decoder\` (template
\`templates/shell/hwgen_decoder.v.hbs\`, rendered by \`src/gen/decoder.ts\` from the engine's memory table:
code, words per item, depth, whether a burst walks lanes first and over how many, whether a memory has one copy
for every PE, which memories are readable and how wide their items are). It checks the memory code, the PE and
the burst range before anything is written, so an engine sees only valid writes and reads:

| port | direction | meaning |
|---|---|---|
| \`in_data\`, \`in_valid\`, \`in_ready\` | in | command words |
| \`out_data\`, \`out_valid\`, \`out_ready\` | out | answer words |
| \`idle\` | out | waiting for a header: no command under way |
| \`ld_valid\`, \`ld_mem\`, \`ld_pe\`, \`ld_addr\`, \`ld_data\` | out | one item to write, a cycle after its last word; \`ld_mem\` carries the low bits of the memory code (as many as the engine's largest code needs); \`ld_pe\` is a PE, or ${hex(ALL_PES)} for every PE (always for a memory with one copy) |
| \`rd_en\`, \`rd_addr\` | out | read one item of every readable memory at \`rd_addr\` (one cycle; READ and CHECKSUM, never while a RUN is under way) |
| \`rd_<mem>\` | in | a readable memory's item of every lane (lane p at bits p × width), valid the cycle after \`rd_en\`; the decoder picks the lane, sign- or zero-extends and sends it |
| \`run_req\`, \`run_layers\` | out | a RUN of \`run_layers\` layers is under way (held until \`run_done\`) |
| \`run_done\`, \`run_cycles\` | in | the run ended (one cycle); the cycle count it answers with |
| \`stat_idx\`, \`stat_word\` | out, in | the STATS word the decoder sends next, and the engine's value of it |

The engine keeps its run controller, its memories and its counters; the shell of a target wraps the decoder's
word streams in its framed protocol.
`;

export function commandsMarkdown(): string {
  const table = (rec: Record<string, number>) => Object.entries(rec).map(([k, v]) => `| \`${k}\` | ${hex(v)} |`).join('\n');
  return `# The engine command set

Generated from \`src/protocol/command-set.ts\` by \`npm run docs\`; do not edit by hand.

Every engine (EIE, XNOR) takes the same stream of 32-bit words and answers on a stream of 32-bit words
(valid/ready on both sides). The shell of a target carries these words inside its framed, CRC-checked
protocol; the simulator harness reads them from a pipe.

## Words

| word | layout |
|---|---|
| header | \`op[31:24] mem[23:16] count[15:0]\` |
| address (WRITE, READ) | \`pe[31:24] addr[23:0]\`; pe = ${hex(ALL_PES)} writes every PE's copy |
| status (every answer starts with one) | \`op[31:24] status[23:16] count[15:0]\`, then \`count\` data words |

A WRITE carries \`count\` items after its address word (at most ${MAX_BURST} per command); an item is one word,
or two for sparse-matrix words and biases wider than 32 bits (least significant word first). A refused
command still consumes its data words, so the stream stays in step: an unknown memory answers \`BAD_MEM\`,
a PE that does not exist or a burst that runs past the end of its memory answers \`BAD_ADDR\` and writes
nothing (the range is checked before the first item is written). A READ or CHECKSUM names one PE (not ${hex(ALL_PES)}).
For \`ACT\` the item counter walks PEs first: element i of a vector is PE i mod N, index i div N, so a whole
vector is one burst from (pe 0, addr 0).

## Opcodes

| op | code |
|---|---|
${table(OP)}

| op | does | answer data |
|---|---|---|
| \`NOP\` | nothing | none |
| \`WRITE\` | writes \`count\` items to memory \`mem\` of PE \`pe\` from \`addr\` | none |
| \`READ\` | reads \`count\` items of memory \`mem\` of PE \`pe\` from \`addr\` | the items as the memory keeps them, sign- or zero-extended to whole words |
| \`CHECKSUM\` | reads like READ, in the engine, and folds the words READ would answer into a CRC-32 | one word: the CRC-32 (0 for \`count\` = 0) |
| \`RUN\` | runs layers 0 .. count-1 without the host (\`BAD_ADDR\` if count exceeds the layer table) | the cycles it took |
| \`STATS\` | reports counters | ${STATS_FIELDS.map((f) => `\`${f}\``).join(', ')}, then one compute-cycle count per layer slot |

## Reading back and CHECKSUM

Every memory a load writes can be read back: READ answers its items as the memory keeps them (as wide as the
engine stores them, sign-extended for EIE codebooks and biases and XNOR α, zero-extended otherwise; a descriptor field at
its own width, and 0 at an address no field keeps). Where every PE keeps a copy (weights, pointers, biases,
thresholds, and the EIE codebook, which a WRITE to any PE writes to all), the address word's PE picks the copy;
the layer table is kept once and any PE reads it.

CHECKSUM answers the CRC-32 (zlib's, the link's polynomial, over each word's bytes least significant first) of
exactly the words that a READ of the same range would answer. A CRC, unlike a sum, changes with any single-bit
error, and with words swapped or moved, so one word proves a whole range. The decoder reads the items through
the same ports as READ and folds one bit per clock (about 3 + 32 × words clocks per item), so nothing crosses the
link but the answer, and nothing is written. It waits, like every command, until the command before it (a RUN)
is done, so it never sees a layer half run. The host's expected values come from the load's own WRITE commands
(\`src/engines/checksum.ts\`, used by \`Device.verify\`).

## Memories

| mem | code |
|---|---|
${table(MEM)}

A layer descriptor is ${LAYER_FIELDS.length} words at \`LAYER\` address layer × ${LAYER_STRIDE} + field:
${LAYER_FIELDS.map((f, i) => `${i} \`${f}\``).join(', ')}; \`flags\` = relu << ${FLAG_RELU_SHIFT} | wFrac.

On the XNOR units (docs/xnor.md) a layer descriptor is ${XNOR_LAYER_FIELDS.length} words at \`LAYER\` address layer × ${XNOR_LAYER_STRIDE} + field:
${XNOR_LAYER_FIELDS.map((f, i) => `${i} \`${f}\``).join(', ')}; \`flags\` = shift << ${XNOR_FLAG_SHIFT} | scores << ${bit(XNOR_FLAG_SCORES)} | fixedInput << ${bit(XNOR_FLAG_FIXED)}.
Their \`STATS\` answers ${XNOR_STATS_FIELDS.map((f) => `\`${f}\``).join(', ')}, then one compute-cycle count per layer slot.

## Status codes

| status | code |
|---|---|
${table(STATUS)}

${DECODER_DOC}`;
}

export function commandsCHeader(): string {
  const defs = (prefix: string, rec: Record<string, number>) =>
    Object.entries(rec).map(([k, v]) => `#define HWGEN_${prefix}_${k} ${hex(v)}u`).join('\n');
  return `/* Generated by hwgen ${HWGEN_VERSION} from src/protocol/command-set.ts. Do not edit: regenerate instead. */
#ifndef HWGEN_COMMANDS_H
#define HWGEN_COMMANDS_H

/* header word: op[31:24] mem[23:16] count[15:0]; address word: pe[31:24] addr[23:0] */
#define HWGEN_HEADER(op, mem, count) (((unsigned)(op) << 24) | ((unsigned)(mem) << 16) | ((unsigned)(count) & 0xffffu))
#define HWGEN_ADDRESS(pe, addr) (((unsigned)(pe) << 24) | ((unsigned)(addr) & 0xffffffu))
#define HWGEN_ALL_PES ${hex(ALL_PES)}u
#define HWGEN_MAX_BURST ${MAX_BURST}u
#define HWGEN_LAYER_STRIDE ${LAYER_STRIDE}u
#define HWGEN_FLAG_RELU_SHIFT ${FLAG_RELU_SHIFT}u

${defs('OP', OP)}

${defs('MEM', MEM)}

${defs('STATUS', STATUS)}

${LAYER_FIELDS.map((f, i) => `#define HWGEN_LAYER_${snake(f)} ${i}u`).join('\n')}

${STATS_FIELDS.map((f, i) => `#define HWGEN_STATS_${snake(f)} ${i}u`).join('\n')}

/* the XNOR units: layer descriptor at LAYER address layer * HWGEN_XNOR_LAYER_STRIDE + field */
#define HWGEN_XNOR_LAYER_STRIDE ${XNOR_LAYER_STRIDE}u
#define HWGEN_XNOR_FLAG_FIXED ${hex(XNOR_FLAG_FIXED)}u
#define HWGEN_XNOR_FLAG_SCORES ${hex(XNOR_FLAG_SCORES)}u
#define HWGEN_XNOR_FLAG_SHIFT ${XNOR_FLAG_SHIFT}u
${XNOR_LAYER_FIELDS.map((f, i) => `#define HWGEN_XNOR_LAYER_${snake(f)} ${i}u`).join('\n')}

${XNOR_STATS_FIELDS.map((f, i) => `#define HWGEN_XNOR_STATS_${snake(f)} ${i}u`).join('\n')}

#endif /* HWGEN_COMMANDS_H */
`;
}

/**
 * The Verilog include (hwgen_commands.vh) every module that decodes or loads includes inside its body: the codes as
 * 8-bit localparams, descriptor field indices and flag bits as plain integers (no width to mismatch an address).
 * A module uses some of them, so unused ones are waived here rather than in each module.
 */
export function commandsVerilog(): string {
  const codes = (prefix: string, rec: Record<string, number>) =>
    `    localparam [7:0] ${Object.entries(rec).map(([k, v]) => `${prefix}${k} = 8'h${v.toString(16).padStart(2, '0')}`).join(',\n                     ')};`;
  const ints = (prefix: string, fields: readonly string[]) =>
    `    localparam ${fields.map((f, i) => `${prefix}${snake(f)} = ${i}`).join(',\n               ')};`;
  return `// The engines' command set (src/protocol/command-set.ts, docs/commands.md), included inside a module's body.
    /* verilator lint_off UNUSEDPARAM */
${codes('OP_', OP)}
${codes('MEM_', MEM)}
${codes('ST_', STATUS)}
    localparam [7:0] ALL_PES = 8'h${ALL_PES.toString(16)};
    // EIE layer descriptor: LAYER address = layer * LAYER_STRIDE + field; flags = relu << FLAG_RELU_SHIFT | wFrac
    localparam LAYER_STRIDE = ${LAYER_STRIDE};
${ints('LAYER_', LAYER_FIELDS)}
    localparam FLAG_RELU_SHIFT = ${FLAG_RELU_SHIFT};
    // XNOR layer descriptor: LAYER address = layer * XNOR_LAYER_STRIDE + field
    localparam XNOR_LAYER_STRIDE = ${XNOR_LAYER_STRIDE};
${ints('XNOR_LAYER_', XNOR_LAYER_FIELDS)}
    localparam XNOR_FLAG_FIXED_BIT = ${bit(XNOR_FLAG_FIXED)}, XNOR_FLAG_SCORES_BIT = ${bit(XNOR_FLAG_SCORES)}, XNOR_FLAG_SHIFT = ${XNOR_FLAG_SHIFT};
    /* verilator lint_on UNUSEDPARAM */
`;
}

import { HwgenError } from '../errors.js';
import { ALL_PES, MAX_BURST, MEM, OP, parseAddress, parseHeader, type Mem } from '../protocol/command-set.js';
import { checksumCommand, checksumOf, toWords, type Command } from '../protocol/command-words.js';
import { readLanes, type DecoderMemory, type DecoderSpec } from '../gen/decoder.js';

/**
 * What a board's memories must hold after a load, as CHECKSUM answers it (docs/commands.md): taken from the load's
 * own WRITE commands, so the words checked are exactly the words sent, kept as each memory keeps them (its width,
 * read back sign- or zero-extended). Nothing here knows an engine's layout: the memory table says how wide and how
 * many copies, the commands say what goes where.
 */
export interface ChecksumRange {
  mem: Mem;
  /** The copy checked: a PE, or 0 for a memory with one copy. */
  pe: number;
  addr: number;
  count: number;
  /** CRC-32 of the words a READ of this range answers when the memory holds what the load wrote. */
  crc: number;
}

const MEM_NAME = new Map<number, Mem>(Object.entries(MEM).map(([k, v]) => [v, k as Mem]));

/** An item's words as the memory keeps it and a READ answers it. */
function kept(m: DecoderMemory, addr: number, item: number[]): number[] {
  const read = m.read!;
  const bits = read.fields ? (read.fields.bits[addr % read.fields.stride] ?? 0) : read.bits;
  let v = 0n;
  item.forEach((w, i) => (v |= BigInt(w >>> 0) << BigInt(32 * i)));
  v = BigInt.asUintN(bits, v);
  const words = Math.ceil(read.bits / 32);
  return toWords(read.signed && !read.fields ? BigInt.asIntN(bits, v) : v, 32 * words, words);
}

/**
 * The ranges a load writes, per memory and copy, each with the CRC-32 CHECKSUM must answer: contiguous runs of
 * written addresses, at most MAX_BURST items each, in memory-table order, then copy, then address.
 */
export function expectedChecksums(spec: DecoderSpec, load: Command[]): ChecksumRange[] {
  // memory code → copy → address → the item last written there
  const held = new Map<number, Map<number, Map<number, number[]>>>();
  for (const cmd of load) {
    if (cmd.op !== OP.WRITE) continue;
    const { mem: code, count } = parseHeader(cmd.words[0]);
    const name = MEM_NAME.get(code);
    const m = spec.memories.find((x) => x.mem === name);
    // Inputs (walking bursts) are not part of a load: what a run leaves there is no weight.
    if (!m?.write || !m.read || cmd.walk || m.read.walk) throw new HwgenError(`a load writes memory ${name ?? code}, which has no checksum`);
    const { pe, addr } = parseAddress(cmd.words[1]);
    const lanes = readLanes(m);
    const itemWords = (cmd.words.length - 2) / count;
    const copies = held.get(code) ?? new Map<number, Map<number, number[]>>();
    held.set(code, copies);
    // ALL_PES writes every copy, and so does any write to a memory loaded once for all PEs (the decoder's oneCopy);
    // a memory kept once is checked as copy 0
    const targets = pe === ALL_PES || m.write.oneCopy || lanes === 1 ? [...Array(lanes).keys()] : [pe];
    for (let i = 0; i < count; i++) {
      const item = cmd.words.slice(2 + i * itemWords, 2 + (i + 1) * itemWords);
      for (const t of targets) {
        const mem = copies.get(t) ?? new Map<number, number[]>();
        copies.set(t, mem);
        mem.set(addr + i, kept(m, addr + i, item));
      }
    }
  }
  const out: ChecksumRange[] = [];
  for (const m of spec.memories) {
    const copies = held.get(MEM[m.mem]);
    if (!copies) continue;
    for (const pe of [...copies.keys()].sort((a, b) => a - b)) {
      const mem = copies.get(pe)!;
      const addrs = [...mem.keys()].sort((a, b) => a - b);
      for (let i = 0; i < addrs.length; ) {
        let j = i + 1;
        while (j < addrs.length && addrs[j] === addrs[j - 1] + 1 && j - i < MAX_BURST) j++;
        out.push({ mem: m.mem, pe, addr: addrs[i], count: j - i, crc: checksumOf(addrs.slice(i, j).flatMap((a) => mem.get(a)!)) });
        i = j;
      }
    }
  }
  return out;
}

/** The CHECKSUM commands that ask a board for `ranges`, in order. */
export function checksumCommands(ranges: ChecksumRange[]): Command[] {
  return ranges.map((r) => checksumCommand(MEM[r.mem], r.pe, r.addr, r.count));
}

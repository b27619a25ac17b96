import { crc32 } from 'node:zlib';
import { HwgenError } from '../errors.js';
import { MAX_BURST, OP, STATUS, addressWord, header, parseAddress, parseHeader, parseStatus } from './command-set.js';
import { wordBytes } from './link.js';

/**
 * Building and answering the engines' word-stream commands (docs/commands.md), whichever engine: the pieces
 * src/engines/eie/image.ts and src/engines/xnor/image.ts put a bundle together from.
 */
export interface Command {
  words: number[];
  /** Data words the response carries after its status word. */
  respWords: number;
  op: number;
  /** A WRITE or READ whose items walk `walk` lanes (item i: lane i mod walk, address i div walk). */
  walk?: number;
}

/**
 * WRITE bursts of `items` (each one or more words) to memory `mem` of PE `pe` from `addr`. With `walk`,
 * item i goes to lane i mod walk, address i div walk (MEM.ACT vectors spread over PEs or BWN lanes).
 */
export function writeCommands(mem: number, pe: number, addr: number, items: number[][], walk?: number): Command[] {
  const cmds: Command[] = [];
  for (let at = 0; at < items.length; at += MAX_BURST) {
    const chunk = items.slice(at, at + MAX_BURST);
    const where = walk ? addressWord(at % walk, Math.floor(at / walk)) : addressWord(pe, addr + at);
    cmds.push({ op: OP.WRITE, respWords: 0, walk, words: [header(OP.WRITE, mem, chunk.length), where, ...chunk.flat()] });
  }
  return cmds;
}

/** READ bursts of `n` one-word items spread over `walk` lanes (item i: lane i mod walk, address i div walk). */
export function readWalking(mem: number, n: number, walk: number): Command[] {
  const cmds: Command[] = [];
  for (let at = 0; at < n; at += MAX_BURST) {
    const count = Math.min(MAX_BURST, n - at);
    cmds.push({ op: OP.READ, respWords: count, walk, words: [header(OP.READ, mem, count), addressWord(at % walk, Math.floor(at / walk))] });
  }
  return cmds;
}

export function runCommand(layers: number): Command {
  return { op: OP.RUN, respWords: 1, words: [header(OP.RUN, 0, layers)] };
}

/**
 * CHECKSUM of `count` items of memory `mem` from (pe, addr): answered with one word, the CRC-32 of what a READ of
 * the same range would answer (checksumOf); in a memory that walks lanes, the items walk as a READ's do.
 */
export function checksumCommand(mem: number, pe: number, addr: number, count: number): Command {
  return { op: OP.CHECKSUM, respWords: 1, words: [header(OP.CHECKSUM, mem, count), addressWord(pe, addr)] };
}

/**
 * What CHECKSUM answers for a READ answer's data words: CRC-32 (zlib's, the link's polynomial) of their bytes,
 * each word little-endian. A CRC changes with any single-bit error and with words swapped or moved, which a sum
 * would not notice; the RTL folds one bit per clock.
 */
export function checksumOf(words: ArrayLike<number>): number {
  return crc32(wordBytes(Uint32Array.from(words))) >>> 0;
}

/** STATS, answered with `words` counters. */
export function statsCommand(words: number): Command {
  return { op: OP.STATS, respWords: words, words: [header(OP.STATS, 0, 0)] };
}

/** A value of `bits` bits (two's complement) as little-endian 32-bit words. */
export function toWords(value: number | bigint, bits: number, words = Math.ceil(bits / 32)): number[] {
  let v = BigInt.asUintN(bits, BigInt(value));
  const out: number[] = [];
  for (let i = 0; i < words; i++) {
    out.push(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return out;
}

/** Splits a response stream by the commands that caused it, checking every status word. */
export function splitResponses(cmds: Command[], resp: Uint32Array, where: string): Uint32Array[] {
  const out: Uint32Array[] = [];
  let at = 0;
  for (const [i, cmd] of cmds.entries()) {
    if (at >= resp.length) throw new HwgenError(`${where}: the engine answered ${i} of ${cmds.length} commands, then stopped`);
    const st = parseStatus(resp[at]);
    if (st.op !== cmd.op || st.status !== STATUS.OK || st.count !== cmd.respWords) {
      const name = (table: Record<string, number>, v: number) => Object.keys(table).find((k) => table[k] === v) ?? `0x${v.toString(16)}`;
      // An engine that does not know an opcode was built before that command existed.
      const hint = st.status === STATUS.BAD_OPCODE ? `: the build does not know ${name(OP, cmd.op)}; rebuild it with this hwgen` : '';
      throw new HwgenError(
        `${where}: command ${i} (${name(OP, cmd.op)}) got status word 0x${resp[at].toString(16)} (op ${name(OP, st.op)}, status ${name(STATUS, st.status)}, ${st.count} words)${hint}`,
      );
    }
    out.push(resp.subarray(at + 1, at + 1 + st.count));
    at += 1 + st.count;
  }
  if (at !== resp.length) throw new HwgenError(`${where}: ${resp.length - at} response words beyond the last command's`);
  return out;
}

/** The data words of several answers, one after another (a result read in several bursts). */
export function joinData(parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * The same WRITE or READ as several, none longer than `maxWords` words nor answering with more than
 * `maxWords` words (status included): what fits a link frame. Other commands are returned as they are.
 */
export function splitCommand(cmd: Command, maxWords: number): Command[] {
  const { mem, count } = parseHeader(cmd.words[0]);
  const fits = cmd.words.length <= maxWords && 1 + cmd.respWords <= maxWords;
  if (fits || (cmd.op !== OP.WRITE && cmd.op !== OP.READ) || count === 0) return [cmd];
  const itemWords = cmd.op === OP.WRITE ? (cmd.words.length - 2) / count : cmd.respWords / count;
  const per = Math.floor((maxWords - (cmd.op === OP.WRITE ? 2 : 1)) / itemWords);
  if (per < 1) throw new HwgenError(`a ${itemWords}-word item does not fit a ${maxWords}-word frame`);
  const { pe, addr } = parseAddress(cmd.words[1]);
  const out: Command[] = [];
  for (let at = 0; at < count; at += per) {
    const n = Math.min(per, count - at);
    const e = cmd.walk ? addr * cmd.walk + pe + at : 0;
    const where = cmd.walk ? addressWord(e % cmd.walk, Math.floor(e / cmd.walk)) : addressWord(pe, addr + at);
    const data = cmd.op === OP.WRITE ? cmd.words.slice(2 + at * itemWords, 2 + (at + n) * itemWords) : [];
    out.push({ op: cmd.op, walk: cmd.walk, respWords: cmd.op === OP.READ ? n * itemWords : 0, words: [header(cmd.op, mem, n), where, ...data] });
  }
  return out;
}

/** Commands grouped in order so that each group's words and answers fit `maxWords` (a link frame's payload). */
export function packCommands(cmds: Command[], maxWords: number): Command[][] {
  const queue = [...cmds];
  const groups: Command[][] = [];
  while (queue.length) groups.push(takeFrame(queue, maxWords));
  return groups;
}

/**
 * Takes the next frame's commands off the front of `queue`, their words and answers within `maxWords`; a
 * first command too long for that is split and its rest left at the front. A driver that adapts its frames to
 * the link calls it with a different size each time.
 */
export function takeFrame(queue: Command[], maxWords: number): Command[] {
  const group: Command[] = [];
  let words = 0;
  let answers = 0;
  while (queue.length) {
    const head = queue[0];
    if (head.words.length <= maxWords - words && 1 + head.respWords <= maxWords - answers) {
      group.push(queue.shift()!);
      words += head.words.length;
      answers += 1 + head.respWords;
      continue;
    }
    if (group.length) break;
    const parts = splitCommand(head, maxWords);
    if (parts.length === 1) throw new HwgenError(`a command of ${head.words.length} words answering ${1 + head.respWords} does not fit a ${maxWords}-word frame`);
    queue.splice(0, 1, ...parts);
  }
  return group;
}

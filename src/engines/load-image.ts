import { HwgenError } from '../errors.js';
import type { AnyBundle } from '../model/types.js';
import { STATUS } from '../protocol/command-set.js';
import { packCommands, runCommand, type Command } from '../protocol/command-words.js';
import { checksumCommands, expectedChecksums } from './checksum.js';
import type { AnyEngine } from './engine.js';

/**
 * The load image (`model.img`, docs/load-image.md): everything a host that cannot read a bundle needs to load a
 * model onto one build and run it — the frames to send, the answers to expect, where each input value goes in
 * the input frames and where each output value comes from in the answers. The C client (c/) reads it; nothing
 * in it is engine-specific, so it serves every engine and build. Little-endian 32-bit words throughout.
 */
export const IMAGE_MAGIC = 0x49575748; // "HWGI"
export const IMAGE_VERSION = 1;
/** The sections, in their one order: each is a tag, a frame count, then the frames. */
export const IMAGE_SECTIONS = { LOAD: 0x44414f4c, CHECK: 0x4b434843, INPUT: 0x54555049, RUN: 0x204e5552, READ: 0x44414552 } as const;
/** Header words: magic, version, configHash, frameWords, inputs, outputs, pixelTable. */
export const IMAGE_HEADER_WORDS = 7;

/** One input or output value's place: a word (of the input frames' payloads, or of the read answers' data) and bits in it. */
export interface Slot {
  word: number;
  shift: number;
  width: number;
  /** Outputs only: the bits are two's complement. */
  signed?: boolean;
}

export interface LoadImage {
  configHash: string;
  frameWords: number;
  load: Command[][];
  check: { frame: Command[]; crcs: number[] }[];
  input: Command[][];
  inputSlots: Slot[];
  run: Command[][];
  read: Command[][];
  outputSlots: Slot[];
  /** The engine's integer for each 8-bit pixel p, taken as the real value p / 255: a host runs uint8 images as they are. */
  pixelTable: Int32Array;
}

/** The image of `bundle` (as the build stores it: engine.plan's) on the build `config`, in frames of `frameWords`. */
export function loadImage(engine: AnyEngine, bundle: AnyBundle, config: object, frameWords: number): LoadImage {
  const loadCmds = engine.loadCommands(bundle, config);
  const ranges = expectedChecksums(engine.memories(config), loadCmds);
  const checkCmds = checksumCommands(ranges);
  let next = 0;
  const check = packCommands(checkCmds, frameWords).map((frame) => {
    const crcs = frame.map(() => ranges[next++].crc);
    return { frame, crcs };
  });
  const n = engine.input(bundle).length;
  const zero = new Int32Array(n);
  const inputCmds = engine.inputCommands(bundle, zero, config);
  const readCmds = engine.readCommands(bundle, config);
  return {
    configHash: engine.configHash(config),
    frameWords,
    load: packCommands(loadCmds, frameWords),
    check,
    input: packCommands(inputCmds, frameWords),
    inputSlots: inputSlots(engine, bundle, config, inputCmds),
    run: [[runCommand(bundle.layers.length)]],
    read: packCommands(readCmds, frameWords),
    outputSlots: outputSlots(engine, bundle, config, readCmds),
    pixelTable: Int32Array.from({ length: 256 }, (_, p) => engine.quantizeInput(bundle, [p / 255])[0]),
  };
}

const flat = (cmds: Command[]) => cmds.flatMap((c) => c.words);

/**
 * Where each input value lands in the input commands' words, found by setting each value alone to all ones
 * (-1) and seeing which bits change; then proved on random inputs: filling the slots must give exactly the
 * engine's own words. An engine whose input is not a placement of bits is refused, not guessed at.
 */
function inputSlots(engine: AnyEngine, bundle: AnyBundle, config: object, zeroCmds: Command[]): Slot[] {
  const base = flat(zeroCmds);
  const n = engine.input(bundle).length;
  const slots: Slot[] = [];
  const x = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    x[k] = -1;
    const words = flat(engine.inputCommands(bundle, x, config));
    x[k] = 0;
    slots.push(changedBits(base, words, `input ${k}`));
  }
  for (let trial = 0; trial < 3; trial++) {
    const r = engine.quantizeInput(bundle, Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + trial * 78.233) * 1.5));
    const want = flat(engine.inputCommands(bundle, r, config));
    const got = fillInput(base, slots, r);
    if (want.length !== got.length || want.some((w, i) => w !== got[i])) throw new HwgenError(`the ${engine.title} engine's input is not a placement of bits: no load image can describe it`);
  }
  return slots;
}

/** The one run of bits that differs between two word lists (the same length, one word differing). */
function changedBits(a: number[], b: number[], what: string): Slot {
  if (a.length !== b.length) throw new HwgenError(`${what} changes the input commands' length: no load image can describe it`);
  const at = a.findIndex((w, i) => w !== b[i]);
  const diff = at < 0 ? 0 : (a[at] ^ b[at]) >>> 0;
  if (at < 0 || a.some((w, i) => i !== at && w !== b[i])) throw new HwgenError(`${what} does not land in one word of the input commands`);
  const shift = 31 - Math.clz32(diff & -diff);
  const width = 32 - Math.clz32(diff) - shift;
  if (diff !== (width === 32 ? 0xffffffff : ((2 ** width - 1) * 2 ** shift) >>> 0)) throw new HwgenError(`${what}'s bits are not contiguous in its word`);
  return { word: at, shift, width };
}

/** The input words with each value's low `width` bits placed in its slot. */
export function fillInput(base: number[], slots: Slot[], x: ArrayLike<number>): number[] {
  const words = [...base];
  slots.forEach((s, k) => {
    const mask = s.width === 32 ? 0xffffffff : 2 ** s.width - 1;
    words[s.word] = (words[s.word] | ((x[k] & mask) * 2 ** s.shift)) >>> 0;
  });
  return words;
}

/**
 * Where each output value comes from in the read answers' data words, found bit by bit (a bit of a data word
 * set alone shows which output it moves), then proved on random answers against the engine's own decoding.
 */
function outputSlots(engine: AnyEngine, bundle: AnyBundle, config: object, readCmds: Command[]): Slot[] {
  const dataWords = readCmds.reduce((s, c) => s + c.respWords, 0);
  const m = engine.outputLength(bundle);
  const decode = (w: Uint32Array) => engine.decodeOutput(bundle, config, w);
  const zero = decode(new Uint32Array(dataWords));
  const bits: { word: number; bit: number }[][] = Array.from({ length: m }, () => []);
  const probe = new Uint32Array(dataWords);
  for (let w = 0; w < dataWords; w++) {
    for (let b = 0; b < 32; b++) {
      probe[w] = (1 << b) >>> 0;
      decode(probe).forEach((v, i) => v !== zero[i] && bits[i].push({ word: w, bit: b }));
    }
    probe[w] = 0;
  }
  const slots = bits.map((bs, i): Slot => {
    if (!bs.length || bs.some((b) => b.word !== bs[0].word) || bs.some((b, j) => b.bit !== bs[0].bit + j)) {
      throw new HwgenError(`output ${i} of the ${engine.title} engine is not a run of bits in one answer word: no load image can describe it`);
    }
    const s = { word: bs[0].word, shift: bs[0].bit, width: bs.length };
    probe[s.word] = s.width === 32 ? 0xffffffff : ((2 ** s.width - 1) * 2 ** s.shift) >>> 0;
    const signed = decode(probe)[i] === -1 && s.width > 1;
    probe[s.word] = 0;
    return { ...s, signed };
  });
  for (let trial = 0; trial < 3; trial++) {
    const words = Uint32Array.from({ length: dataWords }, (_, i) => (Math.imul(i + 1, 2654435761) ^ (trial * 0x9e3779b9)) >>> 0);
    const want = decode(words);
    const got = slots.map((s) => takeOutput(words, s));
    if (got.some((v, i) => v !== want[i])) throw new HwgenError(`the ${engine.title} engine's output is not a placement of bits: no load image can describe it`);
  }
  return slots;
}

/** An output value from the read answers' data words. */
export function takeOutput(words: ArrayLike<number>, s: Slot): number {
  const raw = s.width === 32 ? words[s.word] >>> 0 : Math.floor((words[s.word] >>> 0) / 2 ** s.shift) % 2 ** s.width;
  return s.signed && raw >= 2 ** (s.width - 1) ? raw - 2 ** s.width : raw;
}

/** The image as the file's words. */
export function encodeLoadImage(img: LoadImage): Uint8Array {
  const out: number[] = [IMAGE_MAGIC, IMAGE_VERSION, Number.parseInt(img.configHash, 16) >>> 0, img.frameWords, img.inputSlots.length, img.outputSlots.length, 1];
  const frames = (tag: number, list: Command[][], extra?: (i: number) => number[]) => {
    out.push(tag, list.length);
    list.forEach((frame, i) => {
      const payload = flat(frame);
      const status = frame.map((c) => (((c.op << 24) | (STATUS.OK << 16) | c.respWords) >>> 0));
      const more = extra?.(i) ?? [];
      out.push(payload.length, status.length, ...payload, ...status, ...more);
    });
  };
  frames(IMAGE_SECTIONS.LOAD, img.load);
  frames(
    IMAGE_SECTIONS.CHECK,
    img.check.map((c) => c.frame),
    (i) => img.check[i].crcs,
  );
  frames(IMAGE_SECTIONS.INPUT, img.input);
  for (const s of img.inputSlots) out.push(s.word, s.shift | (s.width << 8));
  out.push(...Array.from(img.pixelTable, (v) => v >>> 0));
  frames(IMAGE_SECTIONS.RUN, img.run);
  frames(IMAGE_SECTIONS.READ, img.read);
  for (const s of img.outputSlots) out.push(s.word, s.shift | (s.width << 8) | (Number(!!s.signed) << 16));
  const bytes = Buffer.alloc(out.length * 4);
  out.forEach((w, i) => bytes.writeUInt32LE(w >>> 0, i * 4));
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHwgen } from '../../test/helpers/cli.js';
import { openTransport } from '../../host/open.js';
import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { buildModel, lintModel, runBytes } from '../../sim/verilator.js';
import { compressModel } from '../compress/compress.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import type { FloatLayer, NumericFormat } from '../model/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import { joinData, runCommand, splitResponses, type Command } from '../protocol/command-words.js';
import { BAUD_RANGE, FRAME, FrameParser, MAX_PAYLOAD_WORDS, encodeFrame, parseIdentity, type Frame } from '../protocol/link.js';
import type { ShellConfig } from '../shell/config.js';
import { renderShell, shellIdentity } from '../shell/rtl.js';
import { clocksPerBit, UART_LINK_TOP, uartFiles } from './uart.js';

/**
 * The UART link under Verilator with the real shell and EIE engine: test/rtl/uart_loop.v puts a host-side UART
 * in front, so every frame crosses the serial lines bit by bit at CLKS_PER_BIT clocks per bit.
 */
const SHELL: ShellConfig = { maxPayloadWords: 64, idleTimeoutCycles: 1 << 16, clockHz: 12_000_000 };
const NUM: NumericFormat = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };

function small() {
  const r = rng(21);
  const layers: FloatLayer[] = [24, 10].map((rows, l) => {
    const cols = l ? 24 : 20;
    return { name: `fc${l}`, rows, cols, weight: gaussianMatrix(r, rows * cols, 0.4), bias: gaussianMatrix(r, rows, 0.4), relu: l === 0 };
  });
  const given = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 2 }, numeric: NUM }).bundle;
  const engine = engineFor(given);
  const { bundle, config } = engine.plan(given, {});
  const inputs = Array.from({ length: 3 }, () => engine.quantizeInput(bundle, Array.from({ length: 20 }, () => gaussian(r) * 2)));
  return { engine, bundle, config, inputs };
}
const c = small();

function loopFiles(board: number, host: number): Map<string, string> {
  const loop = readFileSync(join(PACKAGE_ROOT, 'test', 'rtl', 'uart_loop.v'), 'utf8')
    .replace('parameter CLKS_PER_BIT = 8', `parameter CLKS_PER_BIT = ${board}`)
    .replace('parameter HOST_CLKS_PER_BIT = 8', `parameter HOST_CLKS_PER_BIT = ${host}`);
  return new Map([...renderShell(c.engine, c.config, SHELL), ...uartFiles('// test'), ['uart_loop.v', loop]]);
}

/** Frames (and raw bytes) through the UARTs; `wait` after a piece lets the host wait for every reply so far. */
function talk(binary: string, pieces: ({ frame: Frame; wait?: boolean } | { bytes: Uint8Array })[]): Frame[] {
  const chunks: Uint8Array[] = [];
  const waits: number[] = [];
  let at = 0;
  for (const p of pieces) {
    const b = 'frame' in p ? encodeFrame(p.frame) : p.bytes;
    chunks.push(b);
    at += b.length;
    if ('frame' in p && p.wait) waits.push(at);
  }
  const all = new Uint8Array(at);
  let o = 0;
  for (const ch of chunks) (all.set(ch, o), (o += ch.length));
  const out = runBytes(binary, all, { waits }).bytes;
  const parser = new FrameParser(MAX_PAYLOAD_WORDS);
  const got = parser.push(out);
  expect(parser.pending, 'bytes after the last reply').toBe(0);
  return got.map((r) => {
    expect(r.ok, 'a reply with a bad CRC').toBe(true);
    return (r as { frame: Frame }).frame;
  });
}

const command = (seq: number, cmds: Command[]): Frame => ({ type: FRAME.COMMAND, seq, payload: Uint32Array.from(cmds.flatMap((x) => x.words)) });

/** The load image in frames of at most SHELL.maxPayloadWords words (and as many answers). */
function loadFrames(first: number): { frame: Frame; cmds: Command[] }[] {
  const out: { frame: Frame; cmds: Command[] }[] = [];
  let cur: Command[] = [];
  let words = 0;
  let answers = 0;
  const flush = () => {
    if (cur.length) out.push({ frame: command(first + out.length, cur), cmds: cur });
    cur = [];
    words = answers = 0;
  };
  for (const cmd of c.engine.loadCommands(c.bundle, c.config)) {
    if (words + cmd.words.length > SHELL.maxPayloadWords || answers + 1 + cmd.respWords > SHELL.maxPayloadWords) flush();
    cur.push(cmd);
    words += cmd.words.length;
    answers += 1 + cmd.respWords;
  }
  flush();
  return out;
}

function inference(seq: number, n: number): { frame: Frame; cmds: Command[] } {
  const cmds = [...c.engine.inputCommands(c.bundle, c.inputs[n], c.config), runCommand(c.bundle.layers.length), ...c.engine.readCommands(c.bundle, c.config)];
  return { frame: command(seq, cmds), cmds };
}

/** Identify, load (frames back to back, or waiting for each reply), infer: every output the golden model's. */
function session(binary: string, opts: { window: boolean; garbage?: boolean }): void {
  const r = rng(5);
  const load = loadFrames(1);
  const runs = c.inputs.map((_, n) => inference(1 + load.length + n, n));
  const pieces: ({ frame: Frame; wait?: boolean } | { bytes: Uint8Array })[] = [{ frame: { type: FRAME.IDENTIFY, seq: 0, payload: new Uint32Array(0) }, wait: true }];
  for (const [i, l] of load.entries()) pieces.push({ frame: l.frame, wait: !opts.window || i === load.length - 1 });
  for (const run of runs) {
    if (opts.garbage) pieces.push({ bytes: Uint8Array.from({ length: randInt(r, 1, 9) }, () => randInt(r, 0, 255)) });
    pieces.push({ frame: run.frame, wait: true });
  }
  const got = talk(binary, pieces);
  expect(got.map((f) => [f.type, f.seq])).toEqual([[FRAME.ACK, 0], ...load.map((l) => [FRAME.ACK, l.frame.seq]), ...runs.map((x) => [FRAME.ACK, x.frame.seq])]);
  expect(Array.from(got[0].payload)).toEqual(Array.from(shellIdentity(c.engine, c.config, SHELL)));
  expect(parseIdentity(got[0].payload).clockHz).toBe(SHELL.clockHz);
  for (const [i, l] of load.entries()) splitResponses(l.cmds, got[1 + i].payload, `load frame ${i}`);
  for (const [n, run] of runs.entries()) {
    const parts = splitResponses(run.cmds, got[1 + load.length + n].payload, 'inference');
    const reads = c.engine.readCommands(c.bundle, c.config).length;
    const out = c.engine.decodeOutput(c.bundle, c.config, joinData(parts.slice(parts.length - reads)));
    expect(Array.from(out), `inference ${n}`).toEqual(Array.from(c.engine.forward(c.bundle, c.inputs[n])[c.bundle.layers.length - 1]));
  }
}

describe('the UART link (hw/hwgen_uart_*.v)', () => {
  it('lints clean with -Wall, alone and in the test top, at the smallest and a large CLKS_PER_BIT', () => {
    for (const [board, host] of [[4, 4], [8, 8], [104, 104]]) {
      const files = loopFiles(board, host);
      expect(lintModel(files, 'uart_loop').output).toBe('');
    }
    expect(lintModel(uartFiles('// test'), UART_LINK_TOP).output).toBe('');
  });

  it('carries real link frames bit by bit: identify, a windowed load, inferences equal to the golden model, garbage between frames', () => {
    const binary = buildModel({ files: loopFiles(8, 8), top: 'uart_loop', stream: 'bytes' }).binary;
    session(binary, { window: true, garbage: true });
    session(binary, { window: false });
  }, 300_000);

  it('tolerates a host 3% slower than the board, and a host 12% off gets no good reply', () => {
    const near = buildModel({ files: loopFiles(33, 34), top: 'uart_loop', stream: 'bytes' }).binary;
    session(near, { window: false });
    const far = buildModel({ files: loopFiles(25, 28), top: 'uart_loop', stream: 'bytes' }).binary;
    const identify = encodeFrame({ type: FRAME.IDENTIFY, seq: 0, payload: new Uint32Array(0) });
    const out = runBytes(far, identify, { waits: [identify.length] }).bytes;
    const good = new FrameParser(MAX_PAYLOAD_WORDS).push(out).filter((r) => r.ok);
    expect(good).toEqual([]);
  }, 300_000);
});

describe('clocksPerBit', () => {
  it('divides the clock by the baud, within 2%', () => {
    expect(clocksPerBit(12_000_000, 115_200)).toBe(104);
    expect(clocksPerBit(48_000_000, 3_000_000)).toBe(16);
    expect(clocksPerBit(12_000_000, 3_000_000)).toBe(4);
  });
  it('refuses a baud the clock cannot make, naming what it can', () => {
    expect(() => clocksPerBit(30_000_000, 3_000_000 * 1.05)).toThrow(/not within 2% .*choose a baud near/);
    expect(() => clocksPerBit(12_000_000, 6_000_000)).toThrow(/too fast for the 12.000 MHz clock.*at most 3000000 baud/);
    expect(() => clocksPerBit(12_000_000, 0)).toThrow(HwgenError);
    expect(() => clocksPerBit(12_000_000, 1.5)).toThrow(/whole number/);
  });
  it("refuses a baud outside the driver's range, which a clock could make, at build time and before any work", () => {
    expect(clocksPerBit(100_000_000, BAUD_RANGE.max)).toBe(5);
    expect(clocksPerBit(100_000_000, BAUD_RANGE.min)).toBe(333_333);
    for (const baud of [1, BAUD_RANGE.min - 1, BAUD_RANGE.max + 1]) {
      expect(() => clocksPerBit(100_000_000, baud)).toThrow(`--baud ${baud}: give a whole number of bits per second from 300 to 20000000 (the driver's range)`);
    }
    const work = mkdtempSync(join(tmpdir(), 'hwgen-baud-'));
    try {
      for (const args of [['--target', 'zynq', '--board', 'zedboard', '--uart'], ['--target', 'ice40']]) {
        const r = runHwgen(work, ['build', ...args, '--baud', '1', '-o', 'out']);
        expect(r.err).toMatch(/--baud 1: give a whole number of bits per second from 300 to 20000000/);
        expect(r.code).toBe(2);
        expect(readdirSync(work)).toEqual([]);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // the driver's serial: URL takes the same range (host/open.ts)
    return expect(openTransport(`serial:/dev/null?baud=${BAUD_RANGE.max + 1}`)).rejects.toThrow(`baud=${BAUD_RANGE.max + 1}: give a whole number of bits per second from 300 to 20000000`);
  });
});

import { describe, expect, it } from 'vitest';
import { gaussian, gaussianMatrix, randInt, rng } from '../../test/helpers/random.js';
import { buildModel, lintModel, runStream } from '../../sim/verilator.js';
import { compressModel } from '../compress/compress.js';
import { engineFor } from '../engines/registry.js';
import { synthXilinx } from '../gen/synth.js';
import type { FloatLayer } from '../model/types.js';
import { DEFAULT_NUMERIC } from '../model/types.js';
import { joinData, runCommand, splitResponses, type Command } from '../protocol/command-words.js';
import { FRAME, FRAME_MAGIC, FrameParser, encodeFrame, parseIdentity, type Frame } from '../protocol/link.js';
import { AXIS_ADAPTER, renderAxisAdapter } from '../shell/axis.js';
import { validateShellConfig } from '../shell/config.js';
import { shellIdentity } from '../shell/rtl.js';
import { AXI_TOP, renderAxiTop } from './axi.js';

/**
 * The AXI-Stream adapter and the AXI top with the real shell and EIE engine under Verilator, driven through the
 * word harness by a test bench that turns word pairs into AXI-Stream beats: the first word of a pair gives
 * TKEEP, TLAST and clocks of TVALID low before the beat, the second the data; the bench answers each beat the
 * top sends with TKEEP and TLAST, then the data, and holds TREADY low on a pseudo-random share of the clocks.
 */
const BENCH = `
module axis_tb (
    input  wire        clk,
    input  wire        rst,
    input  wire [31:0] in_data,
    input  wire        in_valid,
    output wire        in_ready,
    output wire [31:0] out_data,
    output wire        out_valid,
    input  wire        out_ready,
    output wire        idle
);
    reg         have_ctrl, beat, hold, ob_full, ob_second;
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [31:0] ctrl;                   // [3:0] TKEEP, [4] TLAST, [15:8] stall
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [31:0] data, ob_ctrl, ob_data;
    reg  [7:0]  stall;
    reg  [15:0] lfsr;
    wire        s_tready, m_tvalid, m_tlast, top_idle;
    wire [31:0] m_tdata;
    wire [3:0]  m_tkeep;
    wire        s_tvalid = beat && stall == 8'd0;
    wire        m_tready = !ob_full && (lfsr[0] || lfsr[3]);
    // Ctrl bit 30: no beat; wait until the top is idle (a host waiting for its replies, and the end of a run).
    assign in_ready  = !beat && !hold;
    assign out_valid = ob_full;
    assign out_data  = ob_second ? ob_data : ob_ctrl;
    assign idle      = top_idle && !beat && !have_ctrl && !hold && !ob_full;

    always @(posedge clk) begin
        if (rst) begin
            have_ctrl <= 1'b0;
            beat      <= 1'b0;
            hold      <= 1'b0;
            ob_full   <= 1'b0;
            lfsr      <= 16'hace1;
        end else begin
            lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
            if (hold && top_idle) hold <= 1'b0;
            if (in_valid && in_ready) begin
                if (!have_ctrl && in_data[30]) begin
                    hold <= 1'b1;
                end else if (!have_ctrl) begin
                    ctrl      <= in_data;
                    have_ctrl <= 1'b1;
                end else begin
                    data      <= in_data;
                    stall     <= ctrl[15:8];
                    beat      <= 1'b1;
                    have_ctrl <= 1'b0;
                end
            end
            if (beat && stall != 8'd0) stall <= stall - 8'd1;
            if (s_tvalid && s_tready) beat <= 1'b0;
            if (m_tvalid && m_tready) begin
                ob_full   <= 1'b1;
                ob_second <= 1'b0;
                ob_ctrl   <= {27'd0, m_tlast, m_tkeep};
                ob_data   <= m_tdata;
            end else if (ob_full && out_ready) begin
                if (ob_second) ob_full <= 1'b0;
                else ob_second <= 1'b1;
            end
        end
    end

    /* verilator lint_off PINCONNECTEMPTY */
    ${AXI_TOP} top (
        .clk(clk), .aresetn(!rst),
        .s_axis_tdata(data), .s_axis_tkeep(ctrl[3:0]), .s_axis_tlast(ctrl[4]), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
        .m_axis_tdata(m_tdata), .m_axis_tkeep(m_tkeep), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
        .s_axi_awaddr(4'd0), .s_axi_awprot(3'd0), .s_axi_awvalid(1'b0), .s_axi_awready(),
        .s_axi_wdata(32'd0), .s_axi_wstrb(4'd0), .s_axi_wvalid(1'b0), .s_axi_wready(),
        .s_axi_bresp(), .s_axi_bvalid(), .s_axi_bready(1'b1),
        .s_axi_araddr(4'd0), .s_axi_arprot(3'd0), .s_axi_arvalid(1'b0), .s_axi_arready(),
        .s_axi_rdata(), .s_axi_rresp(), .s_axi_rvalid(), .s_axi_rready(1'b1),
        .idle(top_idle)
    );
    /* verilator lint_on PINCONNECTEMPTY */
endmodule
`;

const BARRIER = 1 << 30;

/** What the host sends: frames or raw bytes, each cut into beats; or a wait for every reply so far. */
type Piece = { frame: Frame; beats?: 'full' | 'ragged' } | { wait: true };

/**
 * Bytes as AXI-Stream beats: `full` beats carry four bytes each; `ragged` ones carry one to four bytes at
 * random lanes (TKEEP marks them; the other lanes hold garbage), stall TVALID at random, and raise TLAST at
 * random, inside frames too.
 */
function beats(bytes: Uint8Array, r: () => number, how: 'full' | 'ragged'): number[] {
  const words: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = how === 'full' ? Math.min(4, bytes.length - i) : Math.min(randInt(r, 1, 4), bytes.length - i);
    const lanes = how === 'full' ? [0, 1, 2, 3].slice(0, n) : [0, 1, 2, 3].sort(() => r() - 0.5).slice(0, n).sort();
    let keep = 0;
    let data = how === 'full' ? 0 : (r() * 2 ** 32) >>> 0;
    for (const [k, lane] of lanes.entries()) {
      keep |= 1 << lane;
      data = ((data & ~(0xff << (8 * lane))) | (bytes[i + k] << (8 * lane))) >>> 0;
    }
    const last = how === 'ragged' && r() < 0.25 ? 1 << 4 : 0;
    const stall = how === 'ragged' && r() < 0.3 ? randInt(r, 1, 5) << 8 : 0;
    words.push(keep | last | stall, data);
    i += n;
  }
  return words;
}

interface Beat {
  data: number;
  keep: number;
  last: boolean;
}

function talk(binary: string, pieces: Piece[], seed: number): { frames: Frame[]; beats: Beat[]; cycles: number } {
  const r = rng(seed);
  const words: number[] = [];
  for (const p of pieces) {
    if ('wait' in p) words.push(BARRIER);
    else words.push(...beats(encodeFrame(p.frame), r, p.beats ?? 'ragged'));
  }
  words.push(BARRIER);
  const out = runStream(binary, Uint32Array.from(words));
  expect(out.words.length % 2).toBe(0);
  const got: Beat[] = [];
  for (let i = 0; i < out.words.length; i += 2) got.push({ keep: out.words[i] & 0xf, last: !!(out.words[i] & 0x10), data: out.words[i + 1] });
  const bytes = new Uint8Array(got.length * 4);
  got.forEach((b, i) => new DataView(bytes.buffer).setUint32(4 * i, b.data, true));
  const parser = new FrameParser();
  const rec = parser.push(bytes);
  expect(parser.pending, 'bytes after the last reply').toBe(0);
  for (const x of rec) expect(x.ok, 'a reply with a bad CRC').toBe(true);
  const frames = rec.map((x) => (x as { frame: Frame }).frame);
  // TLAST on exactly the last word of each reply frame; every byte kept.
  let w = 0;
  const lastAt = new Set(frames.map((f) => (w += f.payload.length + 3) - 1));
  got.forEach((b, i) => {
    expect(b.keep, `TKEEP of word ${i}`).toBe(0xf);
    expect(b.last, `TLAST of word ${i}`).toBe(lastAt.has(i));
  });
  return { frames, beats: got, cycles: out.cycles };
}

function pack(cmds: Command[], max: number): Command[][] {
  const out: Command[][] = [];
  let cur: Command[] = [];
  let words = 0;
  let answers = 0;
  for (const c of cmds) {
    if (cur.length && (words + c.words.length > max || answers + 1 + c.respWords > max)) {
      out.push(cur);
      cur = [];
      words = answers = 0;
    }
    cur.push(c);
    words += c.words.length;
    answers += 1 + c.respWords;
  }
  if (cur.length) out.push(cur);
  return out;
}

// yosys and Verilator take minutes on a busy machine.
const SLOW = 600_000;

const SHELL = validateShellConfig({ maxPayloadWords: 128, idleTimeoutCycles: 2000, clockHz: 100_000_000 }, 'test');

function smallEie() {
  const r = rng(21);
  const layers: FloatLayer[] = [24, 16, 10].slice(1).map((rows, l, a) => {
    const cols = l ? a[l - 1] : 24;
    return { name: `fc${l}`, rows, cols, weight: gaussianMatrix(r, rows * cols, 0.4), bias: gaussianMatrix(r, rows, 0.4), relu: l === 0 };
  });
  const given = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC }).bundle;
  const engine = engineFor(given);
  const { bundle, config } = engine.plan(given, {});
  const inputs = Array.from({ length: 3 }, () => engine.quantizeInput(bundle, Array.from({ length: 24 }, () => gaussian(r) * 2)));
  return { engine, bundle, config, inputs };
}

describe('the AXI-Stream adapter', () => {
  it('lints clean (-Wall) alone and in the AXI top, and maps to no latch', () => {
    const c = smallEie();
    const adapter = renderAxisAdapter('0');
    expect(lintModel(adapter, AXIS_ADAPTER).output).toBe('');
    const files = renderAxiTop(c.engine, c.config, SHELL);
    expect(lintModel(files, AXI_TOP).output).toBe('');
    const syn = synthXilinx(adapter, AXIS_ADAPTER);
    expect(syn.latches).toBe(0);
    expect(syn.luts).toBeGreaterThan(10);
    expect(syn.luts).toBeLessThan(120);
  }, SLOW);

  it('carries real link frames through 32-bit beats both ways: ragged TKEEP, TLAST inside frames, back-to-back frames, the golden outputs', () => {
    const c = smallEie();
    const binary = buildModel({ files: new Map([...renderAxiTop(c.engine, c.config, SHELL), ['axis_tb.v', BENCH]]), top: 'axis_tb' }).binary;
    let seq = 0;
    const load = pack(c.engine.loadCommands(c.bundle, c.config), SHELL.maxPayloadWords).map((cmds) => ({ seq: seq++, cmds }));
    const infer = c.inputs.map((x) => {
      const cmds = [...c.engine.inputCommands(c.bundle, x, c.config), runCommand(c.bundle.layers.length), ...c.engine.readCommands(c.bundle, c.config)];
      return { seq: seq++, cmds };
    });
    const frame = (s: { seq: number; cmds: Command[] }): Frame => ({ type: FRAME.COMMAND, seq: s.seq, payload: Uint32Array.from(s.cmds.flatMap((x) => x.words)) });
    const pieces: Piece[] = [
      { frame: { type: FRAME.IDENTIFY, seq: 200, payload: new Uint32Array(0) } },
      { wait: true },
      // Write frames back to back, as a host streams them: the first with full beats, the rest ragged.
      ...load.map((s, i) => ({ frame: frame(s), beats: i ? ('ragged' as const) : ('full' as const) })),
      { wait: true },
      ...infer.flatMap((s) => [{ frame: frame(s) }, { wait: true } as const]),
      // Back-to-back requests whose replies leave back to back: STATUS then IDENTIFY.
      { frame: { type: FRAME.STATUS, seq: 201, payload: new Uint32Array(0) } },
      { frame: { type: FRAME.IDENTIFY, seq: 202, payload: new Uint32Array(0) } },
    ];
    const { frames } = talk(binary, pieces, 5);
    expect(frames.map((f) => [f.type, f.seq])).toEqual([
      [FRAME.ACK, 200], ...load.map((s) => [FRAME.ACK, s.seq]), ...infer.map((s) => [FRAME.ACK, s.seq]), [FRAME.ACK, 201], [FRAME.ACK, 202],
    ]);
    expect(Array.from(frames[0].payload)).toEqual(Array.from(shellIdentity(c.engine, c.config, SHELL)));
    expect(parseIdentity(frames.at(-1)!.payload).configHash).toBe(c.engine.configHash(c.config));
    load.forEach((s, i) => splitResponses(s.cmds, frames[1 + i].payload, `load ${i}`));
    infer.forEach((s, n) => {
      const parts = splitResponses(s.cmds, frames[1 + load.length + n].payload, `inference ${n}`);
      const reads = c.engine.readCommands(c.bundle, c.config).length;
      const got = c.engine.decodeOutput(c.bundle, c.config, joinData(parts.slice(parts.length - reads)));
      expect(Array.from(got)).toEqual(Array.from(c.engine.forward(c.bundle, c.inputs[n])[c.bundle.layers.length - 1]));
    });
    // A frame's bytes start with the magic word on the stream too.
    expect(encodeFrame({ type: 1, seq: 0, payload: new Uint32Array(0) })[0]).toBe(FRAME_MAGIC & 0xff);
  }, SLOW);
});

import { describe, expect, it } from 'vitest';
import { buildModel, modelKey, runStream, verilatorFlags, type ModelSpec } from './verilator.js';

/**
 * A word-stream top that answers each word with the word XOR a register nothing resets: its first answer shows
 * the register's start, which only the simulator's random init sets.
 */
const PROBE = `module probe (
    input  wire        clk,
    input  wire        rst,
    input  wire [31:0] in_data,
    input  wire        in_valid,
    output wire        in_ready,
    output reg  [31:0] out_data,
    output reg         out_valid,
    input  wire        out_ready,
    output wire        idle
);
    reg [31:0] junk;
    assign in_ready = !out_valid;
    assign idle = !out_valid;
    always @(posedge clk) begin
        if (rst) out_valid <= 1'b0;
        else if (out_valid && out_ready) out_valid <= 1'b0;
        else if (in_valid) begin
            out_valid <= 1'b1;
            out_data  <= in_data ^ junk;
            junk      <= junk + 32'd1;
        end
    end
endmodule
`;
const probe: ModelSpec = { files: new Map([['probe.v', PROBE]]), top: 'probe' };

describe('the model cache key', () => {
  const key = (spec: ModelSpec, version = '5.006') => modelKey(spec, version);

  it('is the same for the same sources, flags and Verilator', () => {
    expect(key({ ...probe, files: new Map(probe.files) })).toBe(key(probe));
  });

  it('changes with every flag, the kind of harness, the sources and the Verilator version', () => {
    const keys = [
      key(probe),
      modelKey(probe, '5.006', verilatorFlags(probe).filter((f) => f !== '-fno-dfg')),
      modelKey(probe, '5.006', verilatorFlags(probe).map((f) => (f === 'OPT_FAST=-O2' ? 'OPT_FAST=-Os' : f))),
      key({ ...probe, trace: true }),
      key({ ...probe, stream: 'bytes' }),
      key({ ...probe, netlist: true }),
      key({ ...probe, files: new Map([['probe.v', `${PROBE}\n`]]) }),
      key(probe, '5.020'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('the harness', () => {
  it('starts every register at a random value seeded by the stream, so an unreset register shows', () => {
    const { binary } = buildModel(probe);
    const junk = (w: number) => {
      const run = runStream(binary, Uint32Array.of(w));
      expect(run.words.length).toBe(1);
      expect(run.cpuSeconds).toBeGreaterThan(0);
      return (run.words[0] ^ w) >>> 0;
    };
    const starts = [1, 2, 3].map(junk);
    // --x-initial fast would start it at 0 every time; seeded random init gives another start per stream.
    expect(new Set(starts).size).toBe(3);
    expect(starts).not.toContain(0);
    // The same stream reproduces its run.
    expect(junk(2)).toBe(starts[1]);
  });
});

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      modelKey(probe, '5.006', [...verilatorFlags(probe), '-Wno-fatal']),
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

describe("Verilator's runtime objects", () => {
  // A cache of its own: the test damages what it keeps.
  let root: string;
  const saved = process.env.HWGEN_CACHE;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hwgen-runtime-'));
    process.env.HWGEN_CACHE = root;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.HWGEN_CACHE;
    else process.env.HWGEN_CACHE = saved;
    rmSync(root, { recursive: true, force: true });
  });
  const variant = (n: number): ModelSpec => ({ files: new Map([['probe.v', PROBE.replace("32'd1;", `32'd${n};`)]]), top: 'probe' });
  const kept = () => readdirSync(root).filter((n) => n.startsWith('.runtime-'));

  it('are compiled once, kept, and linked into the next build; damaged, they fail one build and are built again', () => {
    buildModel(variant(1));
    expect(kept()).toHaveLength(1);
    const dir = join(root, kept()[0]);
    expect(readdirSync(dir)).toContain('verilated.o');
    // A build that compiled its own runtime would not notice this.
    writeFileSync(join(dir, 'verilated.o'), 'not an object');
    expect(() => buildModel(variant(2))).toThrow(/verilated\.o/);
    expect(kept()).toHaveLength(0);
    const { binary } = buildModel(variant(2));
    expect(kept()).toHaveLength(1);
    expect(runStream(binary, Uint32Array.of(5)).words.length).toBe(1);
  });
});

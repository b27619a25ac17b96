import { describe, expect, it } from 'vitest';
import { synthXilinx } from './synth.js';

// A single-port memory deeper than 256 words (as the EIE sparse matrix and activation buffers are) beside a small
// one. yosys 0.23's UltraScale+ LUT-RAM rules picked a 65536 x 1 LUT RAM for the deep one that its own map then
// rejected ("invalid OPTION_ABITS/WIDTH combination"): the ZCU104 build failed.
const MEMORIES = `module mems (
    input wire clk, input wire we, input wire [11:0] a, input wire [15:0] d, output reg [15:0] q,
    input wire [3:0] a2, input wire [7:0] d2, output reg [7:0] q2
);
    reg [15:0] deep [0:4095];
    reg [7:0] small [0:15];
    always @(posedge clk) begin
        if (we) deep[a] <= d;
        else q <= deep[a];
    end
    always @(posedge clk) begin
        if (we) small[a2] <= d2;
        q2 <= small[a2];
    end
endmodule
`;

describe('synthXilinx', () => {
  for (const family of ['xc7', 'xcup'] as const) {
    it(`maps a deep single-port memory to block RAM and a small one to LUT RAM for ${family}`, () => {
      const r = synthXilinx(new Map([['mems.v', MEMORIES]]), 'mems', family);
      // 4096 x 16: two RAMB36 (4K x 9 each), as the 7 series' rules map it.
      expect(r.bram18).toBe(4);
      expect(r.lutram).toBeGreaterThan(0);
      expect(r.latches).toBe(0);
    }, 120_000);
  }
});

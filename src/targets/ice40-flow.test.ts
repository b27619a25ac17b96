import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HwgenError } from '../errors.js';
import { FPGA_TOOLS_ENV, fpgaToolchain, type FpgaToolchain } from '../gen/fpga-tools.js';
import { PACKAGE_ROOT } from '../paths.js';
import { choosePll } from './ice40-pll.js';
import { fmaxOf, ICE40_BOARDS, ICE40_TOP, Ice40Flow, renderBoardTop, type Design } from './ice40.js';
import { clocksPerBit, uartFiles } from './uart.js';

/**
 * The iCE40 flow (yosys synth_ice40 → nextpnr-ice40 → icepack) on the real board top — PLL, power-on reset,
 * UART link — around a byte-echo stand-in for the shell, through Debian's tools and through the WebAssembly
 * ones: small enough to run both in seconds. ice40.test.ts builds the real shell and engine.
 */
const root = mkdtempSync(join(tmpdir(), 'hwgen-ice40-flow-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const env = (source: 'system' | 'wasm') => ({ ...process.env, [FPGA_TOOLS_ENV]: source });

function design(board: keyof typeof ICE40_BOARDS): Design {
  const b = ICE40_BOARDS[board];
  const clock = choosePll(b.clockHz, 40e6, (hz) => Math.abs(hz / Math.round(hz / 3e6) - 3e6) / 3e6 <= 0.02)!;
  const { top, pcf } = renderBoardTop(b, { ...clock, baud: 3e6, clksPerBit: clocksPerBit(clock.clockHz, 3e6) }, 'test', 'an echo');
  const echo = readFileSync(join(PACKAGE_ROOT, 'test', 'rtl', 'hwgen_shell_echo.v'), 'utf8');
  return { files: new Map([...uartFiles('// test'), ['hwgen_shell_echo.v', echo], [`${ICE40_TOP}.v`, top]]), pcf };
}

async function bitstream(tools: FpgaToolchain, board: keyof typeof ICE40_BOARDS, name: string, d = design(board)) {
  const work = join(root, name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  const flow = new Ice40Flow(tools, ICE40_BOARDS[board], work);
  await flow.synth(d);
  const report = await flow.pnr(39e6, 'route');
  await tools.run('icepack', [`${ICE40_TOP}.asc`, `${ICE40_TOP}.bin`], work);
  return { bin: readFileSync(join(work, `${ICE40_TOP}.bin`)), report, flow };
}

const SYNC = Buffer.from([0x7e, 0xaa, 0x99, 0x7e]);

describe.each(['system', 'wasm'] as const)('the iCE40 flow with the %s tools', (source) => {
  it('writes a bitstream for each board, with the PLL placed and Fmax reported; the same bytes on a rebuild', async () => {
    const tools = await fpgaToolchain(['yosys', 'nextpnr-ice40', 'icepack'], env(source));
    expect(tools.source).toBe(source);
    for (const board of ['icebreaker', 'hx8k-breakout'] as const) {
      const { bin, report, flow } = await bitstream(tools, board, `${source}-${board}`);
      expect(bin.subarray(0, 200).indexOf(SYNC), 'iCE40 sync word').toBeGreaterThanOrEqual(0);
      expect(report.utilization.ICESTORM_PLL.used).toBe(1);
      expect(report.utilization.ICESTORM_LC.used).toBeGreaterThan(50);
      expect(fmaxOf(report)).toBeGreaterThan(39);
      expect(flow.synthLog).toContain('SB_PLL40_');
      if (board === 'hx8k-breakout') continue; // one rebuild shows the tools are deterministic
      const again = await bitstream(tools, board, `${source}-${board}-again`);
      expect(again.bin.equals(bin), 'same bitstream on a rebuild').toBe(true);
      expect(again.flow.lastLog).toBe(flow.lastLog);
    }
  }, 600_000);

  it("reports a tool's own error: yosys on bad Verilog, nextpnr on a pin the package lacks", async () => {
    const tools = await fpgaToolchain(['yosys', 'nextpnr-ice40', 'icepack'], env(source));
    const bad = design('icebreaker');
    bad.files.set('hwgen_shell_echo.v', 'module hwgen_shell(input clk; endmodule\n');
    const e1 = await bitstream(tools, 'icebreaker', `${source}-bad-verilog`, bad).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(HwgenError);
    expect((e1 as Error).message).toMatch(/yosys.*failed[\s\S]*hwgen_shell_echo\.v:1: ERROR: syntax error/);
    const pins = design('icebreaker');
    pins.pcf = pins.pcf.replace('set_io uart_tx 9', 'set_io uart_tx 99');
    const e2 = await bitstream(tools, 'icebreaker', `${source}-bad-pin`, pins).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(HwgenError);
    expect((e2 as Error).message).toMatch(/nextpnr-ice40.*failed[\s\S]*ERROR: .*'99'/);
  }, 600_000);
});

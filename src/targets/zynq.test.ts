import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { folderBytes, runTclStubs, tinyModel } from '../../test/helpers/targets.js';
import { engineFor } from '../engines/registry.js';
import type { EieConfig } from '../engines/eie/config.js';
import { xnorConfigForBundle } from '../engines/xnor/config.js';
import { readAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODELS } from '../model/default-models.js';
import type { BinaryBundle } from '../model/types.js';
import { DEFAULT_BAUD } from '../protocol/link.js';
import { lintModel } from '../../sim/verilator.js';
import { encodeLoadImage, loadImage } from '../engines/load-image.js';
import { buildTarget } from './build.js';
import { MODEL_IMAGE } from './host-files.js';
import { ZYNQ_BOARDS } from './zynq.js';
import { expectCClientMakes } from '../../test/helpers/c-client.js';

const work = mkdtempSync(join(tmpdir(), 'hwgen-zynq-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const model = tinyModel(work);
// yosys takes a minute or two per design on a busy machine; designs measured before come from the cache.
const SLOW = 600_000;

describe('hwgen build --target zynq', () => {
  // PYNQ-Z2 and ZedBoard share the part, so the same RTL: yosys runs once for both (and for the identical rebuild).
  for (const board of Object.keys(ZYNQ_BOARDS)) {
    it(`builds for ${board}: resources estimated for the part, a Tcl script that runs against the Vivado stubs`, async () => {
      const out = join(work, board);
      const xsa = board === 'zedboard';
      const res = await buildTarget({ target: 'zynq', model, board, out, options: { xsa: xsa || undefined } });
      const b = ZYNQ_BOARDS[board];
      expect(res.manifest.part).toBe(b.part);
      for (const kind of ['LUT', 'FF', 'BRAM18', 'DSP']) expect(res.resources![kind].available).toBe(b.capacity[kind]);
      expect(res.resources!.LUT.used).toBeGreaterThan(500);
      expect(res.resources!.BRAM18.used).toBeGreaterThan(0);
      expect(res.next).toContain('vivado -mode batch -source build.tcl');
      expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('vivado -mode batch -source build.tcl');
      expectCClientMakes(out);

      const log = runTclStubs(join(out, 'build.tcl'));
      expect(log).toContain(`create_project hwgen ${join(out, 'vivado')} -part ${b.part} -force`);
      expect(log).toContain(`set_property board_part ${b.extra!.boardPart} project:hwgen`);
      expect(log.some((l) => l.startsWith('create_bd_cell -type module -reference hwgen_axi_top hwgen'))).toBe(true);
      expect(log.some((l) => l.includes(b.extra!.ps === 'ps7' ? 'xilinx.com:ip:processing_system7' : 'xilinx.com:ip:zynq_ultra_ps_e'))).toBe(true);
      expect(log.some((l) => l.includes('CONFIG.c_include_sg 0'))).toBe(true);
      expect(log).toContain('connect_bd_intf_net intf:axi_dma/M_AXIS_MM2S intf:hwgen/s_axis');
      expect(log).toContain('launch_runs impl_1 -to_step write_bitstream -jobs 4');
      expect(log.some((l) => l.startsWith('write_hw_platform'))).toBe(xsa);
      expect(existsSync(join(out, 'out', 'hwgen.bit'))).toBe(true);
      expect(existsSync(join(out, 'out', 'hwgen.hwh'))).toBe(true);
      expect(existsSync(join(out, 'out', 'hwgen.xsa'))).toBe(xsa);
    }, SLOW);
  }

  it('--uart: the shell behind a UART on PMOD pins, lint-clean, a Tcl script without processing system', async () => {
    const out = join(work, 'uart');
    const res = await buildTarget({ target: 'zynq', model, board: 'zedboard', out, options: { uart: true } });
    expect(res.resources!.LUT.used).toBeGreaterThan(500);
    expect(res.next).toContain('hwgen info --device serial:/dev/ttyUSB0');
    const rtl = new Map(readdirSync(join(out, 'rtl')).map((n) => [n, readFileSync(join(out, 'rtl', n), 'utf8')]));
    expect(rtl.get('hwgen_uart_core.v')).toContain(`.CLKS_PER_BIT(${Math.round(100e6 / DEFAULT_BAUD)})`);
    expect(lintModel(rtl, 'hwgen_uart_core').output).toBe('');
    // The top instantiates the clocking wizard build.tcl makes; lint it against a module of the wizard's ports.
    const wizard = 'module hwgen_clock (input wire clk_in1, output wire clk_out1, output wire locked);\n    assign clk_out1 = clk_in1;\n    assign locked = 1\'b1;\nendmodule\n';
    expect(lintModel(new Map([...rtl, ['hwgen_clock.v', wizard]]), 'hwgen_uart_top').output).toBe('');
    const xdc = readFileSync(join(out, 'hwgen.xdc'), 'utf8');
    expect(xdc).toMatch(/PACKAGE_PIN Y9 .*get_ports clk\]/);
    expect(xdc).toMatch(/PACKAGE_PIN Y11 .*get_ports uart_rx\]/);
    expect(xdc).toMatch(/PACKAGE_PIN AA11 .*get_ports uart_tx\]/);
    const log = runTclStubs(join(out, 'build.tcl'));
    expect(log).toContain('create_ip -name clk_wiz -vendor xilinx.com -library ip -module_name hwgen_clock');
    expect(log).toContain('set_property top hwgen_uart_top fileset:sources_1');
    expect(log.some((l) => l.includes('create_bd'))).toBe(false);
    expect(existsSync(join(out, 'out', 'hwgen.bit'))).toBe(true);

    for (const [options, board, message] of [
      [{ uart: true }, 'zcu104', /--uart: hwgen has no UART pins for ZCU104 .*; use --board pynq-z2 or --board zedboard/],
      [{ uart: true, baud: 7_000_000 }, 'zedboard', /--baud 7000000 is not within 2% of what the 100\.000 MHz clock makes/],
      [{ uart: true, xsa: true }, 'pynq-z2', /--xsa describes the processing system of the DMA build; the --uart build has none/],
    ] as const) {
      const o = join(work, 'uart-refused');
      await expect(buildTarget({ target: 'zynq', model, board, out: o, options })).rejects.toThrow(message);
      expect(existsSync(o)).toBe(false);
    }
  }, SLOW);

  it('gives byte-identical folders for the same inputs', async () => {
    const a = join(work, 'same-a');
    const b = join(work, 'same-b');
    await buildTarget({ target: 'zynq', model, board: 'pynq-z2', out: a });
    await buildTarget({ target: 'zynq', model, board: 'pynq-z2', out: b });
    expect(folderBytes(b)).toEqual(folderBytes(a));
  }, SLOW);

  it('refuses bad input with a clear message, a non-zero exit and no output folder', () => {
    const cases: [string[], RegExp][] = [
      [['--board', 'zybo'], /--board zybo: --target zynq knows pynq-z2, zedboard, zcu104/],
      [['--baud', '115200'], /--baud sets the UART link speed/],
    ];
    for (const [args, message] of cases) {
      const out = join(work, 'refused');
      const r = runHwgen(work, ['build', '--target', 'zynq', '--model', model, '-o', out, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const r = runHwgen(work, ['build', '--target', 'zynq', '--model', model, '-o', file]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  }, SLOW);

  it('refuses a config that does not fit the part and names the largest PE count that fits', async () => {
    // 40 Ki words of sparse matrix per PE take about 256 RAMB18: two PEs overflow the xc7z020's 280, one fits.
    const given = readAnyBundle(model);
    const engine = engineFor(given);
    const { config } = engine.plan(given, {});
    const out = join(work, 'too-big');
    // Through buildTarget rather than the CLI: two syntheses may outlast the CLI helper's time limit on a busy machine.
    const raw = { ...config, pes: 2, spmatWords: 40960 };
    const refused = buildTarget({ target: 'zynq', model, out, build: { configFile: { raw, where: 'big.json' } } });
    await expect(refused).rejects.toThrow(/does not fit xc7z020clg400-1 \(PYNQ-Z2 \(Zynq-7020\)\): by the estimate BRAM18 \d+ of 280 \(\d+%\); the largest build that fits by the estimate is 1 PE \(--pes 1\)/);
    expect(existsSync(out)).toBe(false);
  }, SLOW);

  it('refuses a build far too big for the part from the estimate alone: no synthesis runs', async () => {
    // XNOR 64 rows x 64 lanes: about 88,000 LUT by yosys, 166% of the xc7z020.
    const bmlp = readAnyBundle(DEFAULT_MODELS.xnor);
    const config = xnorConfigForBundle(bmlp as BinaryBundle, { pe: 64, simd: 64, bwnLanes: 16 });
    const cache = mkdtempSync(join(work, 'cache-'));
    const before = process.env.HWGEN_CACHE;
    process.env.HWGEN_CACHE = cache;
    try {
      const out = join(work, 'far-too-big');
      await expect(buildTarget({ target: 'zynq', model: DEFAULT_MODELS.xnor, out, build: { config } })).rejects.toThrow(
        /^XNOR 64 rows x 64 lanes does not fit xc7z020clg400-1 \(PYNQ-Z2 \(Zynq-7020\)\): by the estimate LUT \d+ of 53200 \(1[5-9]\d%\); the largest build that fits by the estimate is 32 PEs \(a --config with that pe\)$/,
      );
      expect(existsSync(out)).toBe(false);
      // yosys keeps every count it makes in the cache: nothing was measured.
      expect(existsSync(join(cache, 'yosys'))).toBe(false);
    } finally {
      if (before === undefined) delete process.env.HWGEN_CACHE;
      else process.env.HWGEN_CACHE = before;
    }
  });

  it('builds the default LeNet with the most PEs within 70% of the part, prints its images/s, and lets --pes choose less', async () => {
    const out = join(work, 'default');
    const res = await buildTarget({ target: 'zynq', out });
    const pes = (res.manifest.config as EieConfig).pes;
    expect(pes).toBeGreaterThan(1);
    for (const [kind, r] of Object.entries(res.resources!)) expect(r.used / r.available!, kind).toBeLessThanOrEqual(0.7);
    expect(res.throughput!.build).toBe(`EIE ${pes} PEs, queue depth 8`);
    // The folder's load image is the chosen build's (the bundle interleaved for its PEs), not the model's own.
    const lenet = readAnyBundle(DEFAULT_MODELS.eie);
    const chosen = engineFor(lenet).plan(lenet, { pes });
    const image = encodeLoadImage(loadImage(engineFor(lenet), chosen.bundle, chosen.config, res.manifest.shell.maxPayloadWords));
    expect(Buffer.compare(readFileSync(join(out, MODEL_IMAGE)), Buffer.from(image))).toBe(0);
    const few = await buildTarget({ target: 'zynq', out: join(work, 'default-2'), build: { pes: 2 } });
    expect((few.manifest.config as EieConfig).pes).toBe(2);
    expect(res.throughput!.imagesPerSecond).toBeGreaterThan(few.throughput!.imagesPerSecond);
    expect(res.resources!.LUT.used).toBeGreaterThan(few.resources!.LUT.used);
    const cli = runHwgen(work, ['build', '--target', 'zynq', '-o', join(work, 'default-cli')]);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain('resources by the estimate (yosys 0.23 not run: every resource under 85% of the part):');
    expect(cli.out).toMatch(new RegExp(`build  EIE ${pes} PEs, queue depth 8: ${res.throughput!.imagesPerSecond} images/s by the cycle model`));
  }, SLOW);
});

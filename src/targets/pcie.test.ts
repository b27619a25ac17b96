import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { folderBytes, runTclStubs, tinyModel } from '../../test/helpers/targets.js';
import { buildTarget } from './build.js';
import { PCIE_BOARDS } from './pcie.js';
import { expectCClientMakes } from '../../test/helpers/c-client.js';

const work = mkdtempSync(join(tmpdir(), 'hwgen-pcie-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const model = tinyModel(work);
// yosys takes a minute or two per design on a busy machine; designs measured before come from the cache.
const SLOW = 600_000;

describe('hwgen build --target pcie', () => {
  it('builds for the KC705: resources estimated for the part, a Tcl script that runs against the Vivado stubs, the same bytes twice', async () => {
    const out = join(work, 'kc705');
    const res = await buildTarget({ target: 'pcie', model, out });
    const b = PCIE_BOARDS.kc705;
    expect(res.manifest.board).toBe('kc705');
    expect(res.manifest.part).toBe('xc7k325tffg900-2');
    for (const kind of ['LUT', 'FF', 'BRAM18', 'DSP']) expect(res.resources![kind].available).toBe(b.capacity[kind]);
    expect(res.resources!.LUT.used).toBeGreaterThan(500);
    expect(res.next).toContain('hwgen info --device xdma:/dev/xdma0');
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('vivado -mode batch -source build.tcl');
    expect(readme).toContain('hwgen info --device xdma:/dev/xdma0');
    expectCClientMakes(out);
    const xdc = readFileSync(join(out, 'hwgen.xdc'), 'utf8');
    expect(xdc).toContain('set_property PACKAGE_PIN U8 [get_ports pcie_refclk_clk_p]');
    expect(xdc).toContain('set_property PACKAGE_PIN G25 [get_ports pcie_perst_n]');

    // The same inputs give the same bytes (compared before the script adds Vivado's placeholders).
    const again = join(work, 'kc705-again');
    await buildTarget({ target: 'pcie', model, out: again });
    expect(folderBytes(again)).toEqual(folderBytes(out));

    const log = runTclStubs(join(out, 'build.tcl'));
    expect(log).toContain(`create_project hwgen ${join(out, 'vivado')} -part xc7k325tffg900-2 -force`);
    const xdma = log.find((l) => l.startsWith('set_property -dict') && l.includes('CONFIG.xdma_axi_intf_mm'));
    expect(xdma).toMatch(/CONFIG\.xdma_axi_intf_mm AXI_Stream/);
    expect(xdma).toMatch(/CONFIG\.pl_link_cap_max_link_width X4/);
    expect(xdma).toMatch(/CONFIG\.pl_link_cap_max_link_speed 5\.0_GT\/s/);
    expect(log).toContain('connect_bd_intf_net intf:h2c_width/M_AXIS intf:hwgen/s_axis');
    expect(log).toContain('connect_bd_intf_net intf:c2h_clock/M_AXIS intf:xdma/S_AXIS_C2H_0');
    expect(log).toContain('launch_runs impl_1 -to_step write_bitstream -jobs 4');
    expect(existsSync(join(out, 'out', 'hwgen.bit'))).toBe(true);
  }, SLOW);

  it('refuses options and boards it does not take, before any work, and leaves no folder', () => {
    const cases: [string[], RegExp][] = [
      [['--uart'], /--uart does nothing for --target pcie; leave it out/],
      [['--xsa'], /--xsa does nothing for --target pcie; leave it out/],
      [['--board', 'vc707'], /--board vc707: --target pcie knows kc705/],
    ];
    for (const [args, message] of cases) {
      const out = join(work, 'refused');
      const r = runHwgen(work, ['build', '--target', 'pcie', '--model', model, '-o', out, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  }, SLOW);
});

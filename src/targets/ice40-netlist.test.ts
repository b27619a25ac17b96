import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Device } from '../../host/device.js';
import { buildModel } from '../../sim/verilator.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { compressModel } from '../compress/compress.js';
import { engineFor } from '../engines/registry.js';
import { DEFAULT_NUMERIC } from '../model/types.js';
import { renderShell, SHELL_TOP } from '../shell/rtl.js';
import { runTool } from '../tools.js';
import { ICE40_BOARDS, partHints, synthOptions } from './ice40.js';

/**
 * What the iCEBreaker gets, simulated gate by gate: yosys's synth_ice40 netlist of the shell and a 1-PE EIE engine,
 * with the same options and part hints as `hwgen build --target ice40` (SPRAM, EBR, the DSP multiplier), run by
 * Verilator with yosys's own models of the iCE40 cells, driven by the host driver over the sim transport. It shows
 * the memories yosys put in SPRAM and EBR hold what the RTL's did: a load, every CHECKSUM, and runs equal to the
 * golden model.
 */
const root = mkdtempSync(join(tmpdir(), 'hwgen-ice40-netlist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** yosys's models of the iCE40 cells, from the data folder beside Debian's yosys binary. */
function cellModels(): string {
  const bin = spawnSync('sh', ['-c', 'command -v yosys'], { encoding: 'utf8' }).stdout.trim();
  const path = join(dirname(realpathSync(bin)), '..', 'share', 'yosys', 'ice40', 'cells_sim.v');
  expect(existsSync(path), path).toBe(true);
  // Verilator takes the cells' ports without their default values.
  return `\`define NO_ICE40_DEFAULT_ASSIGNMENTS\n${readFileSync(path, 'utf8')}`;
}

describe('the iCEBreaker netlist under Verilator', () => {
  it('loads, proves every memory by CHECKSUM and answers as the golden model, with its matrix and activations in SPRAM', async () => {
    const r = rng(8);
    const layers = [
      { name: 'a', rows: 20, cols: 28, weight: gaussianMatrix(r, 560, 0.3), bias: gaussianMatrix(r, 20, 0.1), relu: true },
      { name: 'b', rows: 10, cols: 20, weight: gaussianMatrix(r, 200, 0.3), bias: gaussianMatrix(r, 10, 0.1), relu: false },
    ];
    const compressed = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 1, vBits: 4, zBits: 3 }, numeric: DEFAULT_NUMERIC }).bundle;
    const engine = engineFor(compressed);
    const { bundle, config } = engine.plan(compressed, {});
    const board = ICE40_BOARDS.icebreaker;
    const files = renderShell(engine, config, { maxPayloadWords: 64, clockHz: board.clockHz }, partHints(board));
    for (const [name, text] of files) writeFileSync(join(root, name), text);
    const sources = [...files.keys()].filter((n) => n.endsWith('.v')).join(' ');
    runTool('yosys', ['-q', '-p', `read_verilog ${sources}; synth_ice40 -top ${SHELL_TOP}${synthOptions(board)}; write_verilog -noattr netlist.v`], { cwd: root });
    const netlist = readFileSync(join(root, 'netlist.v'), 'utf8');
    // three SPRAMs side by side for the 48-bit matrix words, one for the activation buffers; the rest in EBR
    expect(netlist.match(/^\s*SB_SPRAM256KA /gm)).toHaveLength(4);
    expect(netlist).toMatch(/^\s*SB_RAM40_4K /m);
    expect(netlist).not.toMatch(/\breg\b/);

    const model = buildModel({ files: new Map([['netlist.v', netlist], ['cells_sim.v', cellModels()]]), top: SHELL_TOP, stream: 'bytes', netlist: true });
    const dev = await Device.open(`sim:${dirname(model.binary)}`);
    try {
      expect((await dev.info()).configHash).toBe(engine.configHash(config));
      await dev.load(bundle);
      const checks = await dev.verify(bundle);
      expect(checks.map((c) => c.mem).sort()).toEqual(['BIAS', 'CODEBOOK', 'LAYER', 'PTR', 'SPMAT']);
      expect(checks.every((c) => c.ok)).toBe(true);
      for (let n = 0; n < 8; n++) {
        // the last input is all zeros: no column broadcasts, the outputs are the biases through the layers
        const x = engine.quantizeInput(bundle, n < 7 ? Array.from(gaussianMatrix(r, 28, 1)) : new Array(28).fill(0));
        const { output } = await dev.run(x);
        expect(Array.from(output), `input ${n}`).toEqual(Array.from(engine.forward(bundle, x)[1]));
      }
    } finally {
      await dev.close();
    }
  }, 900_000);
});

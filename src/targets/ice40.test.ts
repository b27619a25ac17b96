import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { compressModel } from '../compress/compress.js';
import { HwgenError } from '../errors.js';
import { FPGA_TOOLS_ENV, fpgaToolchain } from '../gen/fpga-tools.js';
import { writeBundle } from '../model/bundle.js';
import { DEFAULT_BAUD } from '../protocol/link.js';
import { readBuildResources, resourceRows } from '../report/build-resources.js';
import { buildTarget, fileHashes, MANIFEST, type BuildRequest } from './build.js';
import { ICE40_BOARDS, ICE40_TOP, partHints } from './ice40.js';
import { engineFor } from '../engines/registry.js';
import type { EieConfig } from '../engines/eie/config.js';
import { readAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODELS } from '../model/default-models.js';
import { expectCClientMakes } from '../../test/helpers/c-client.js';

/**
 * `hwgen build --target ice40` end to end on a tiny EIE bundle (one PE, about 4,600 logic cells, minutes of
 * yosys and nextpnr): a bitstream for the iCEBreaker through Debian's tools, with the UP5K's SPRAMs in use; the
 * refusals, which leave no output folder. The WebAssembly tools are three times slower on it, so
 * ice40-flow.test.ts runs them, and both boards' PLLs, on the same board top around a small stand-in for the shell.
 */
const root = mkdtempSync(join(tmpdir(), 'hwgen-ice40-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const model = join(root, 'tiny.hwb');
{
  const r = rng(3);
  const layers = [16, 10].map((rows, l) => {
    const cols = l ? 16 : 20;
    return { name: `fc${l}`, rows, cols, weight: gaussianMatrix(r, rows * cols, 0.4), bias: gaussianMatrix(r, rows, 0.4), relu: l === 0 };
  });
  const numeric = { actBits: 16, actFrac: 8, weightBits: 16, accBits: 32 };
  writeBundle(model, compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 2 }, numeric }).bundle);
}

const request = (out: string, more: Partial<BuildRequest> = {}): BuildRequest => ({ target: 'ice40', model, build: { pes: 1 }, out: join(root, out), ...more });

/** An iCE40 bitstream holds the sync word 7E AA 99 7E after icepack's comment header. */
function isBitstream(bin: Buffer): boolean {
  return bin.length > 50_000 && bin.subarray(0, 200).indexOf(Buffer.from([0x7e, 0xaa, 0x99, 0x7e])) >= 0;
}

async function refused(req: BuildRequest, pattern: RegExp): Promise<void> {
  const e = await buildTarget(req).then(() => undefined, (e: unknown) => e);
  expect(e).toBeInstanceOf(HwgenError);
  expect((e as Error).message).toMatch(pattern);
  expect(existsSync(req.out), 'no output folder').toBe(false);
  expect(readdirSync(root).filter((n) => n.startsWith('.')), 'no scratch folder left').toEqual([]);
}

describe('hwgen build --target ice40: refusals, before any long step', () => {
  it('an unknown board, listing the boards', async () => {
    await refused(request('a', { board: 'icestick' }), /--board icestick: --target ice40 knows icebreaker, hx8k-breakout/);
  });

  it('a baud no clock of the board can make', async () => {
    await refused(request('b', { options: { baud: 100_000_000 } }), /--baud 100000000: give a whole number of bits per second from 300 to 20000000/);
    await refused(request('c', { options: { baud: 0 } }), /whole number/);
  });

  it('an unknown FPGA tool source', async () => {
    await expect(fpgaToolchain(['yosys'], { ...process.env, [FPGA_TOOLS_ENV]: 'docker' })).rejects.toThrow(/HWGEN_FPGA_TOOLS=docker: give system .*, wasm .* or leave it unset/);
  });

  it("falls back to the WebAssembly tools when Debian's are not on PATH, and names the packages when forced to the system's", async () => {
    const tc = await fpgaToolchain(['yosys', 'nextpnr-ice40', 'icepack'], { PATH: join(root, 'nothing') });
    expect(tc.source).toBe('wasm');
    expect(tc.versions.yosys).toMatch(/^@yowasp\/yosys 0\.55/);
    await expect(fpgaToolchain(['yosys', 'icepack'], { PATH: join(root, 'nothing'), [FPGA_TOOLS_ENV]: 'system' })).rejects.toThrow(
      /yosys \(Debian package 'yosys'\), icepack \(Debian package 'fpga-icestorm'\) are not installed/,
    );
  });
});

describe('hwgen build --target ice40: the plan', () => {
  it("chooses sparse words the UP5K's SPRAM holds (16 bits wide, 16k deep, four blocks), unless told", () => {
    const lenet = readAnyBundle(DEFAULT_MODELS.eie);
    const engine = engineFor(lenet);
    const epw = (pes: number, board: keyof typeof ICE40_BOARDS, entriesPerWord?: number) =>
      (engine.plan(lenet, { pes, entriesPerWord, part: partHints(ICE40_BOARDS[board]) }).config as EieConfig).entriesPerWord;
    // 10-bit entries, about 21,000 per PE at one PE: 8 a word are 80 bits (five blocks), 4 are 40 (three)
    expect(epw(1, 'icebreaker')).toBe(4);
    // four PEs: a block each, 10 bits wide and 8k deep
    expect(epw(4, 'icebreaker')).toBe(1);
    expect(epw(1, 'hx8k-breakout')).toBe(8);
    expect(epw(1, 'icebreaker', 2)).toBe(2);
  });
});

describe('hwgen build --target ice40: the flow', () => {
  it('refuses a build whose block RAMs the part lacks from their count alone, before any tool runs', async () => {
    // The default LeNet-300-100 at one PE: its sparse matrix alone is 80 of the HX8K's 32 block RAMs (the UP5K
    // holds it in SPRAM): 118 in all, as nextpnr counts them. 64 PEs on the iCEBreaker: 1,286 (14 minutes of
    // synthesis to refuse before the count). A toolchain setting no lookup accepts proves no tool was looked for.
    const before = process.env[FPGA_TOOLS_ENV];
    process.env[FPGA_TOOLS_ENV] = 'not-a-toolchain';
    try {
      await refused(
        request('d', { model: undefined, board: 'hx8k-breakout', build: { pes: 1 } }),
        /^EIE 1 PEs, queue depth 8 does not fit hx8k-ct256 \(iCE40-HX8K breakout board\): by the estimate BRAM 118 of 32 \(369%\); not even one PE fits: choose a larger board$/,
      );
      await refused(
        request('d', { model: undefined, board: 'icebreaker', build: { pes: 64 } }),
        /^EIE 64 PEs, queue depth 8 does not fit up5k-sg48 \(iCEBreaker \(iCE40 UltraPlus UP5K\)\): by the estimate BRAM 1286 of 30 \(\d+%\); at most 1 PE can fit by the estimate \(--pes 1; the rest is measured when it is built\)$/,
      );
    } finally {
      if (before === undefined) delete process.env[FPGA_TOOLS_ENV];
      else process.env[FPGA_TOOLS_ENV] = before;
    }
  });

  it("writes a bitstream for the iCEBreaker with Debian's tools, the sparse matrix and activations in SPRAM", async () => {
    const a = await buildTarget(request('up5k'));
    const dir = join(root, 'up5k');
    expect(isBitstream(readFileSync(join(dir, `${ICE40_TOP}.bin`)))).toBe(true);
    expect(Object.keys(a.manifest.files).sort()).toEqual(
      expect.arrayContaining(['README.md', `${ICE40_TOP}.bin`, `${ICE40_TOP}.pcf`, 'logs/nextpnr.log', 'logs/yosys.log', 'nextpnr-report.json', `rtl/${ICE40_TOP}.v`, 'rtl/hwgen_uart_link.v', 'rtl/hwgen_shell.v']),
    );
    const cap = ICE40_BOARDS.icebreaker.capacity;
    expectCClientMakes(dir);
    const res = a.resources!;
    expect(res.LC.available).toBe(cap.LC);
    expect(res.LC.used).toBeGreaterThan(1000);
    expect(res.LC.used).toBeLessThanOrEqual(cap.LC);
    // one PE: its sparse matrix (48-bit words: three 16-bit SPRAMs side by side) and its two activation buffers (one)
    expect(res.SPRAM).toEqual({ used: 4, available: cap.SPRAM });
    expect(readFileSync(join(dir, 'rtl', 'eie_pe.v'), 'utf8').match(/\(\* ram_style = "huge" \*\) reg/g)).toHaveLength(2);
    expect(a.fmaxMHz! * 1e6).toBeGreaterThanOrEqual(a.clockHz!);
    expect(a.manifest.shell.clockHz).toBe(a.clockHz);
    const pcf = readFileSync(join(dir, `${ICE40_TOP}.pcf`), 'utf8');
    expect(pcf).toMatch(/set_io clk_in 35\nset_io uart_rx 6\nset_io uart_tx 9/);
    const top = readFileSync(join(dir, 'rtl', `${ICE40_TOP}.v`), 'utf8');
    expect(top).toContain(`.CLKS_PER_BIT(${Math.round(a.clockHz! / DEFAULT_BAUD)})`);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(`serial:/dev/ttyUSB1?baud=${DEFAULT_BAUD}`);

    // The manifest lists every file's hash, and the files are what it says: ice40-flow.test.ts shows the same
    // inputs give the same bytes through these tools (a second full build here would double the suite's longest test).
    expect(fileHashes(dir)).toEqual(a.manifest.files);
    // hwgen report --build reads this folder's figures, Fmax included (src/report/build-resources.test.ts: the other targets)
    const figures = readBuildResources(dir, MANIFEST);
    expect(resourceRows(figures)).toEqual(Object.entries(res).map(([resource, x]) => ({ resource, ...x })));
    expect([figures.target, figures.part, figures.fmaxMHz]).toEqual(['ice40', ICE40_BOARDS.icebreaker.part, a.fmaxMHz]);
  }, 1_800_000);
});

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { compressModel } from '../../src/compress/compress.js';
import { writeBundle } from '../../src/model/bundle.js';
import { DEFAULT_NUMERIC, type FloatLayer } from '../../src/model/types.js';
import { gaussianMatrix, rng } from './random.js';

const STUBS = join(import.meta.dirname, 'vivado-stubs.tcl');

/** Writes a tiny EIE bundle (24 → 16 → 10 on 2 PEs) into `dir`, so a build's yosys run stays short; returns its path. */
export function tinyModel(dir: string): string {
  const r = rng(31);
  const layers: FloatLayer[] = [
    { name: 'fc0', rows: 16, cols: 24, weight: gaussianMatrix(r, 16 * 24, 0.4), bias: gaussianMatrix(r, 16, 0.4), relu: true },
    { name: 'fc1', rows: 10, cols: 16, weight: gaussianMatrix(r, 10 * 16, 0.4), bias: gaussianMatrix(r, 10, 0.4), relu: false },
  ];
  const { bundle } = compressModel({ source: 't', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
  const path = join(dir, 'tiny.hwb');
  writeBundle(path, bundle);
  return path;
}

/** Runs a Vivado build script under tclsh against test/helpers/vivado-stubs.tcl; returns the Vivado commands it called. */
export function runTclStubs(script: string): string[] {
  const r = spawnSync('tclsh', [STUBS, script], { encoding: 'utf8', env: { ...process.env, HWGEN_STUB_WNS: '', HWGEN_STUB_WHS: '' } });
  if (r.error) throw new Error(`tclsh did not run (Debian package 'tcl'): ${r.error.message}`);
  expect(r.stderr, 'the script under the Vivado stubs').toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n');
}

/**
 * The script under the stubs with implementation reporting these slacks (ns): a design that misses timing must
 * stop with a clear error before it copies a bitstream out. Returns what it printed on stderr and its exit status.
 */
export function runTclStubsWithSlack(script: string, wns: number, whs: number): { stderr: string; status: number | null } {
  const r = spawnSync('tclsh', [STUBS, script], { encoding: 'utf8', env: { ...process.env, HWGEN_STUB_WNS: String(wns), HWGEN_STUB_WHS: String(whs) } });
  if (r.error) throw new Error(`tclsh did not run (Debian package 'tcl'): ${r.error.message}`);
  return { stderr: r.stderr, status: r.status };
}

/**
 * A build folder's Vivado script writes the timing and utilization reports into out/, and stops with a clear
 * error, copying no bitstream, when implementation misses setup or hold timing.
 */
export function expectTimingChecked(buildDir: string): void {
  const out = join(buildDir, 'out');
  expect(existsSync(join(out, 'timing.rpt')) && existsSync(join(out, 'utilization.rpt'))).toBe(true);
  for (const [wns, whs, bad] of [[-0.318, 0.05, 'setup'], [0.2, -0.012, 'hold']] as const) {
    rmSync(out, { recursive: true, force: true });
    const r = runTclStubsWithSlack(join(buildDir, 'build.tcl'), wns, whs);
    expect(r.status, `a design that misses ${bad} timing`).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`timing is not met: worst setup slack ${wns} ns, worst hold slack ${whs} ns \\(see .*timing\\.rpt\\); build with fewer PEs`));
    expect(existsSync(join(out, 'hwgen.bit'))).toBe(false);
    expect(existsSync(join(out, 'timing.rpt'))).toBe(true);
  }
}

/** Every file under `dir` by its relative path, with its contents. */
export function folderBytes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[rel + e.name] = readFileSync(join(d, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  const r = spawnSync('tclsh', [STUBS, script], { encoding: 'utf8' });
  if (r.error) throw new Error(`tclsh did not run (Debian package 'tcl'): ${r.error.message}`);
  expect(r.stderr, 'the script under the Vivado stubs').toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n');
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

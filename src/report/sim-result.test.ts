import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectHwgenError } from '../../test/helpers/errors.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { compressModel } from '../compress/compress.js';
import { reencodeForPes } from '../compress/reencode.js';
import { DEFAULT_NUMERIC, type FloatModel } from '../model/types.js';
import { encodeNpy } from '../model/npy.js';
import { checkSimResult, readSimInputs, readSimResult, simFigures, type SimResult } from './sim-result.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-sim-result-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function oneLayer(pes: number) {
  const r = rng(5);
  const model: FloatModel = { source: 't', layers: [{ name: 'fc', rows: 30, cols: 20, weight: gaussianMatrix(r, 600, 0.1), relu: true }] };
  return compressModel(model, { density: 0.3, bits: 4, sparse: { pes, vBits: 4, zBits: 2 }, numeric: DEFAULT_NUMERIC }).bundle;
}

const sim = (over: Partial<SimResult> = {}): SimResult => ({
  engine: 'EIE', configHash: 'abc', pes: 4, inferences: 2, cyclesPerInference: [50, 70], layerCycles: [[40], [60]], ...over,
});

describe('readSimResult / checkSimResult', () => {
  it('reads what hwgen sim --json prints', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ engine: 'EIE', configHash: 'h', config: { pes: 8 }, inferences: 1, cyclesPerInference: [9], layerCycles: [[4, 5]], golden: { match: true } }));
    expect(readSimResult(path)).toEqual({ engine: 'EIE', configHash: 'h', pes: 8, inferences: 1, cyclesPerInference: [9], layerCycles: [[4, 5]] });
  });

  it('names the file and the field that is wrong', () => {
    expectHwgenError(() => readSimResult(join(dir, 'none.json')), /none\.json: no such file/);
    writeFileSync(join(dir, 'bad.json'), '{"engine": ');
    expectHwgenError(() => readSimResult(join(dir, 'bad.json')), /bad\.json: not JSON .*hwgen sim/);
    const ok = { engine: 'XNOR', inferences: 1, cyclesPerInference: [3], layerCycles: [[3]] };
    expect(checkSimResult(ok, 'r').engine).toBe('XNOR');
    expectHwgenError(() => checkSimResult([], 'r'), /r: not a JSON object/);
    expectHwgenError(() => checkSimResult({ ...ok, engine: 'GPU' }, 'r'), /"engine"/);
    expectHwgenError(() => checkSimResult({ ...ok, inferences: 0 }, 'r'), /"inferences"/);
    expectHwgenError(() => checkSimResult({ ...ok, cyclesPerInference: [3, 4] }, 'r'), /"cyclesPerInference"/);
    expectHwgenError(() => checkSimResult({ ...ok, layerCycles: [[-1]] }, 'r'), /"layerCycles"/);
    expectHwgenError(() => checkSimResult({ ...ok, engine: 'EIE' }, 'r'), /"config\.pes"/);
  });
});

describe('simFigures', () => {
  it('gives the mean cycles per layer, and refuses a result of another bundle', () => {
    const b = oneLayer(4);
    const f = simFigures(sim(), b, 'r.json');
    expect(f.layers).toEqual([{ name: 'fc', cycles: 50 }]);
    expect(f.meanCycles).toBe(60);
    expect(f.efficiency).toBeUndefined();
    expectHwgenError(() => simFigures(sim({ engine: 'XNOR' }), b, 'r.json'), /r\.json: a simulation of the XNOR engine/);
    expectHwgenError(() => simFigures(sim({ layerCycles: [[1, 2], [3, 4]] }), b, 'r.json'), /2 layer\(s\), but the bundle has 1/);
    expectHwgenError(() => simFigures(sim(), b, 'r.json', { path: 'x.npy', rows: [new Float64Array(20)] }), /x\.npy: 1 input\(s\), but the simulation ran 2/);
  });

  it('measures efficiency as entries of the non-zero columns over PEs x cycles, on the simulated PE count', () => {
    for (const [bundlePes, simPes] of [[4, 4], [4, 3]]) {
      const b = oneLayer(bundlePes);
      const dense = new Float64Array(20).fill(1);
      const zero = new Float64Array(20);
      const f = simFigures(sim({ pes: simPes }), b, 'r.json', { path: 'x.npy', rows: [dense, zero] });
      // A dense input works every entry of the layer as stored for simPes PEs (padding included); a zero input none.
      const stored = reencodeForPes(b, simPes).layers[0].slices.map((sl) => sl.v.length);
      const entries = stored.reduce((x, y) => x + y, 0);
      expect(f.layers[0].efficiency).toBeCloseTo(entries / (simPes * (40 + 60)), 12);
      expect(f.layers[0].idealCycles).toBe(Math.max(...stored) / 2);
      expect(f.efficiency).toBe(f.layers[0].efficiency);
    }
  });
});

describe('readSimInputs', () => {
  it('reads a vector or a batch, and refuses a wrong width', () => {
    const path = join(dir, 'x.npy');
    writeFileSync(path, encodeNpy({ dtype: 'f4', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i) }));
    const rows = readSimInputs(path, 5);
    expect(rows.map((r) => Array.from(r))).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14]]);
    expectHwgenError(() => readSimInputs(path, 4), /x\.npy: inputs have shape \(3, 5\); the first layer takes \(4\)/);
  });
});

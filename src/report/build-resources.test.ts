import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectHwgenError } from '../../test/helpers/errors.js';
import { readBuildResources, resourceRows, type BuildResources } from './build-resources.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-build-res-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD: BuildResources = {
  target: 'zynq',
  part: 'xc7z020clg400-1',
  xilinx: { used: { luts: 1234, ffs: 2000, bram18: 9, dsp: 4, lutram: 16, latches: 0 }, available: { luts: 53200, ffs: 106400, bram18: 280, dsp: 220 } },
  ice40: { logicCells: 5000, logicCellsAvailable: 7680, bram: 20, bramAvailable: 32, fmaxMHz: 41.5 },
};

function folder(name: string, content?: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  if (content !== undefined) writeFileSync(join(d, 'resources.json'), content);
  return d;
}

describe('readBuildResources', () => {
  it('reads resources.json and lists every figure against the part', () => {
    const r = readBuildResources(folder('good', JSON.stringify(GOOD)));
    expect(r).toEqual(GOOD);
    const rows = resourceRows(r);
    expect(rows.find((x) => x.resource === 'LUT')).toEqual({ resource: 'LUT', used: 1234, available: 53200 });
    expect(rows.find((x) => x.resource === 'iCE40 LC')).toEqual({ resource: 'iCE40 LC', used: 5000, available: 7680 });
    expect(rows).toHaveLength(8);
  });

  it('says what is missing: the folder, the file, valid JSON, a field', () => {
    expectHwgenError(() => readBuildResources(join(dir, 'nowhere')), /--build .*nowhere: no such folder/);
    writeFileSync(join(dir, 'plain'), 'x');
    expectHwgenError(() => readBuildResources(join(dir, 'plain')), /plain: not a folder/);
    expectHwgenError(() => readBuildResources(folder('empty')), /empty.resources\.json: no such file.*docs\/report\.md/);
    expectHwgenError(() => readBuildResources(folder('bad', '{')), /resources\.json: not JSON/);
    expectHwgenError(() => readBuildResources(folder('neither', JSON.stringify({ target: 't', part: 'p' }))), /neither "xilinx" nor "ice40"/);
    const noLuts = { ...GOOD, xilinx: { ...GOOD.xilinx!, used: { ...GOOD.xilinx!.used, luts: 'many' } } };
    expectHwgenError(() => readBuildResources(folder('field', JSON.stringify(noLuts))), /"xilinx\.used\.luts" is not a number/);
    const { fmaxMHz: _, ...noFmax } = GOOD.ice40!;
    expectHwgenError(() => readBuildResources(folder('fmax', JSON.stringify({ ...GOOD, ice40: noFmax }))), /"ice40\.fmaxMHz"/);
  });
});

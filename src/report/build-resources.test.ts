/**
 * `hwgen report --build DIR` reads the folders `hwgen build` really writes: a real build of each target (small
 * models; yosys figures come from its cache after the target tests), then the shape checks on a copy of one.
 * The iCE40 build is the one of src/targets/ice40.test.ts, which checks its folder the same way.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { expectHwgenError } from '../../test/helpers/errors.js';
import { tinyModel } from '../../test/helpers/targets.js';
import { buildTarget, MANIFEST } from '../targets/build.js';
import { readBuildResources, resourceRows } from './build-resources.js';

const dir = mkdtempSync(join(tmpdir(), 'hwgen-build-res-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = tinyModel(dir);

describe('readBuildResources on real build folders', () => {
  for (const target of ['sim', 'zynq', 'pcie']) {
    it(`--target ${target}: the manifest's target, part, engine and every resource against the part`, async () => {
      const out = join(dir, target);
      const res = await buildTarget({ target, model, out });
      const r = readBuildResources(out, MANIFEST);
      expect(r.target).toBe(target);
      expect(r.part).toBe(res.manifest.part);
      expect([r.engine, r.configHash]).toEqual([res.manifest.engine, res.manifest.configHash]);
      expect(r.clockHz).toBe(res.clockHz);
      expect(resourceRows(r)).toEqual(Object.entries(res.resources ?? {}).map(([resource, x]) => ({ resource, ...x })));
      if (target !== 'sim') expect(resourceRows(r).map((x) => x.resource)).toEqual(['LUT', 'FF', 'BRAM18', 'DSP']);
    }, 600_000);
  }

  it('hwgen report --build on a zynq folder shows its figures; on a sim folder says it measures none', () => {
    const page = join(dir, 'z.html');
    const r = runHwgen(dir, ['report', model, '--build', join(dir, 'zynq'), '-o', page]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'zynq', MANIFEST), 'utf8'));
    const html = readFileSync(page, 'utf8');
    expect(html).toContain(`<td class="num">${m.resources.LUT.used}</td><td class="num">${m.resources.LUT.available}</td>`);
    expect(html).toContain(`part ${m.part}`);
    const s = runHwgen(dir, ['report', model, '--build', join(dir, 'sim'), '-o', join(dir, 's.html')]);
    expect(s.code, s.err).toBe(0);
    expect(readFileSync(join(dir, 's.html'), 'utf8')).toContain('This target measures no resources');
  });

  it('says what is missing: the folder, the manifest, valid JSON, a field', () => {
    /** A copy of the zynq folder whose manifest `edit` changes in place, or replaces by the text it returns. */
    const copy = (name: string, edit: (m: Record<string, unknown>) => string | void): string => {
      const d = join(dir, name);
      cpSync(join(dir, 'zynq'), d, { recursive: true });
      const m = JSON.parse(readFileSync(join(d, MANIFEST), 'utf8'));
      writeFileSync(join(d, MANIFEST), edit(m) ?? JSON.stringify(m));
      return d;
    };
    expectHwgenError(() => readBuildResources(join(dir, 'nowhere'), MANIFEST), /--build .*nowhere: no such folder; give the folder 'hwgen build -o DIR' wrote/);
    writeFileSync(join(dir, 'plain'), 'x');
    expectHwgenError(() => readBuildResources(join(dir, 'plain'), MANIFEST), /plain: not a folder/);
    mkdirSync(join(dir, 'empty'));
    expectHwgenError(() => readBuildResources(join(dir, 'empty'), MANIFEST), /empty.manifest\.json: no such file.*every folder 'hwgen build' writes holds its manifest\.json/);
    expectHwgenError(() => readBuildResources(copy('half', () => '{"target"'), MANIFEST), /manifest\.json: not JSON/);
    expectHwgenError(() => readBuildResources(copy('notarget', (m) => void delete m.target), MANIFEST), /"target" is not a non-empty string; it is not the manifest of an 'hwgen build'/);
    expectHwgenError(() => readBuildResources(copy('luts', (m) => void ((m.resources as Record<string, { used: unknown }>).LUT.used = 'many')), MANIFEST), /"resources\.LUT\.used" is not a number >= 0/);
  });
});

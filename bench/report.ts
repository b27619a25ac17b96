/**
 * bench/report: the HTML report of one huge layer, 9216×4096 (AlexNet fc6's shape) at density 0.09 on 64 PEs.
 * Prints the seconds to read the bundle and render the page (charts and tables), and the page's size, for the
 * bundle alone (decoded weights) and with the float weights as `hwgen compress --report` has them.
 * Target: a few seconds and a page well under 1 MB (every figure is binned or one row per PE / symbol).
 * Usage: npm run bench -- report [--rows 4096] [--cols 9216]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressModel } from '../src/compress/compress.js';
import { readAnyBundle, writeBundle } from '../src/model/bundle.js';
import { DEFAULT_NUMERIC, type FloatModel } from '../src/model/types.js';
import { renderReport } from '../src/report/report.js';
import { argValue } from './args.js';
import { gaussianWeights } from './weights.js';

export async function benchReport(args: string[]): Promise<void> {
  const rows = argValue(args, '--rows', 4096);
  const cols = argValue(args, '--cols', 9216);
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-bench-'));
  try {
    const w = gaussianWeights(rows, cols);
    const model: FloatModel = { source: 'bench', layers: [{ name: 'fc6', rows, cols, weight: w, relu: true }] };
    const { bundle, details } = compressModel(model, { density: 0.09, bits: 4, sparse: { pes: 64, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
    const path = join(dir, 'fc6.hwb');
    writeBundle(path, bundle);
    const pruned = Float32Array.from(details[0].kept, (k) => w[k]);
    await renderReport({ bundle, bundleName: 'warm-up' }); // loads Vega once, as a CLI run does before its first chart

    console.log(`bench/report: one layer ${cols} inputs x ${rows} outputs, density 0.09, 64 PEs (${details[0].kept.length} non-zeros)`);
    let t0 = performance.now();
    const read = readAnyBundle(path);
    const tRead = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const page = await renderReport({ bundle: read, bundleName: 'fc6.hwb' });
    const tRender = (performance.now() - t0) / 1000;
    console.log(`  hwgen report (bundle only)     read ${tRead.toFixed(2)} s + render ${tRender.toFixed(2)} s, page ${(page.length / 1024).toFixed(0)} KiB`);
    t0 = performance.now();
    const page2 = await renderReport({ bundle, bundleName: 'fc6.hwb', pruned: [pruned] });
    const t2 = (performance.now() - t0) / 1000;
    console.log(`  compress --report (floats)     render ${t2.toFixed(2)} s, page ${(page2.length / 1024).toFixed(0)} KiB`);
    console.log('  (Vega loaded before timing; a CLI run adds about a second for it)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

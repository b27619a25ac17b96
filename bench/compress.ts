/**
 * bench/compress: one 9216×4096 float32 layer (AlexNet fc6's shape) to density 0.09, B = 4, 64 PEs.
 * Prints seconds per stage and the peak RSS. Target: under 10 s in all and under 1.5 GB.
 * Usage: npm run bench -- compress [--rows 9216] [--cols 4096]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressModel } from '../src/compress/compress.js';
import { bundleReport } from '../src/compress/report.js';
import { readBundle, writeBundle } from '../src/model/bundle.js';
import { encodeNpy } from '../src/model/npy.js';
import { loadWeights } from '../src/model/weights.js';
import { DEFAULT_NUMERIC } from '../src/model/types.js';
import { argValue } from './args.js';
import { gaussianWeights } from './weights.js';

export function benchCompress(args: string[]): void {
  const rows = argValue(args, '--rows', 4096);
  const cols = argValue(args, '--cols', 9216);
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-bench-'));
  try {
    const w = gaussianWeights(rows, cols);
    const input = join(dir, 'fc6.npy');
    writeFileSync(input, encodeNpy({ dtype: 'f4', shape: [rows, cols], data: w }));

    const t: [string, number][] = [];
    let t0 = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      t.push([name, (now - t0) / 1000]);
      t0 = now;
    };
    const model = loadWeights(input, 'none');
    lap('read .npy');
    const { bundle, details } = compressModel(model, {
      density: 0.09,
      bits: 4,
      sparse: { pes: 64, vBits: 4, zBits: 4 },
      numeric: DEFAULT_NUMERIC,
    });
    const d = details[0];
    t.push(['prune', d.ms.prune / 1000], ['k-means', d.ms.kmeans / 1000], ['share (assign)', d.ms.share / 1000], ['encode CSC', d.ms.encode / 1000]);
    t0 = performance.now();
    const out = join(dir, 'fc6.hwb');
    writeBundle(out, bundle);
    lap('huffman + write .hwb');
    readBundle(out);
    lap('read + verify .hwb (not in total)');
    const total = t.filter(([n]) => !n.includes('not in total')).reduce((a, [, x]) => a + x, 0);
    const rss = process.resourceUsage().maxRSS / 1024;
    const r = bundleReport(bundle);
    console.log(`bench/compress: ${cols} inputs x ${rows} outputs, density 0.09, B = 4, 64 PEs (k-means ${d.iterations} iterations)`);
    for (const [name, sec] of t) console.log(`  ${name.padEnd(34)} ${sec.toFixed(3)} s`);
    console.log(`  ${'total'.padEnd(34)} ${total.toFixed(3)} s   (target < 10 s: ${(total / 10).toFixed(2)} of budget)`);
    console.log(`  ${'peak RSS'.padEnd(34)} ${rss.toFixed(0)} MB  (target < 1536 MB: ${(rss / 1536).toFixed(2)} of budget)`);
    console.log(`  compression ${r.total.ratio.toFixed(1)}x, padding ${(r.total.paddingOverhead * 100).toFixed(2)}%, ` +
      `v ${r.total.huffmanBitsV.toFixed(2)} / z ${r.total.huffmanBitsZ.toFixed(2)} Huffman bits per entry`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

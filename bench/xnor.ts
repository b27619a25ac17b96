/**
 * bench/xnor: the XNOR units' matrix-vector-threshold unit for (P, S) in {(4, 32), (16, 64), (32, 128)}:
 * binary MACs per cycle measured under Verilator against the S·P peak, and LUT / FF / BRAM counts from
 * `yosys synth_xilinx` (xc7), with binary operations per cycle per LUT (one XNOR + one popcount add per
 * weight bit = 2 ops, FINN's convention), printed beside FINN's published figures, and each size's figures beside a
 * baseline stored per yosys version (bench/baselines/xnor-yosys-<version>.json, as hls4ml keeps its synthesis
 * baselines), with REGRESSION where a count grows past its tolerance (printed: a bench never fails).
 * Usage: npm run bench -- xnor [--k 1024] [--m 1024] [--store-baseline]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { binarizeModel } from '../src/compress/binarize.js';
import { layerShape, validateXnorConfig, xnorConfigForBundle, xnorGeometry } from '../src/engines/xnor/config.js';
import { renderXnor } from '../src/engines/xnor/rtl.js';
import { synthXilinx, type XilinxResources } from '../src/gen/synth.js';
import { requireTools } from '../src/tools.js';
import type { FloatLayer } from '../src/model/types.js';
import { simulate } from '../host/simulate.js';
import { argValue } from './args.js';

const NUMERIC = { actBits: 8, actFrac: 4, weightBits: 16, accBits: 32 };

/**
 * FINN (Umuroglu et al., "FINN: A Framework for Fast, Scalable Binarized Neural Network Inference", FPGA'17,
 * arXiv:1612.07119). The abstract states: up to 12.3 M classifications/s at 0.31 µs latency on MNIST (SFC-max)
 * and 21906 classifications/s on CIFAR-10 / SVHN (CNV-max), on a ZC706 under 25 W. The throughput and LUT
 * figures below are from the paper's results table as remembered (ZC706, 200 MHz), not re-read against it:
 * check them against Table 2 of the paper before quoting them.
 */
const FINN = [
  { design: 'SFC-max', tops: 8.265, luts: 91131 },
  { design: 'LFC-max', tops: 9.086, luts: 82988 },
  { design: 'CNV-max', tops: 2.466, luts: 46253 },
];
const FINN_MHZ = 200;

/** A size's stored figures, and how far each count may grow (a fraction) before the bench says REGRESSION. */
type Counts = Pick<XilinxResources, 'luts' | 'ffs' | 'bram18' | 'dsp' | 'lutram'>;
interface Baseline {
  tool: string;
  layer: { k: number; m: number };
  tolerance: Counts;
  sizes: Record<string, Counts & { opsPerCycleLut: number }>;
}
const METRICS: (keyof Counts)[] = ['luts', 'ffs', 'bram18', 'dsp', 'lutram'];
const TOLERANCE: Counts = { luts: 0.02, ffs: 0.05, bram18: 0, dsp: 0, lutram: 0.05 };

/** The baseline file of a yosys version ("Yosys 0.23 (git sha1 ...)" -> xnor-yosys-0.23.json). */
function baselinePath(tool: string): string {
  const version = /Yosys (\d+\.\d+)/.exec(tool)?.[1] ?? 'unknown';
  return fileURLToPath(new URL(`./baselines/xnor-yosys-${version}.json`, import.meta.url));
}

/** Each count against the baseline's: `now (base, ratio)`, REGRESSION past the tolerance. */
function compare(now: Counts, base: Counts | undefined, tol: Counts): { cells: string[]; regressions: string[] } {
  const regressions: string[] = [];
  const cells = METRICS.map((m) => {
    if (!base) return String(now[m]);
    const ratio = base[m] === 0 ? (now[m] === 0 ? 1 : Infinity) : now[m] / base[m];
    if (now[m] > base[m] * (1 + tol[m])) regressions.push(`${m} ${now[m]} > ${base[m]} + ${(100 * tol[m]).toFixed(0)}%`);
    return `${now[m]} (${base[m]}, ${ratio.toFixed(2)}x)`;
  });
  return { cells, regressions };
}

export function benchXnor(args: string[]): void {
  const k = argValue(args, '--k', 1024);
  const m = argValue(args, '--m', 1024);
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const layer: FloatLayer = { name: 'fc', rows: m, cols: k, weight: Float32Array.from({ length: k * m }, () => rnd() - 0.5), relu: false };
  const bundle = binarizeModel({ source: 'bench', layers: [layer] }, { numeric: NUMERIC, firstInput: 'binary', lastOutput: 'threshold' });
  const x = Int32Array.from({ length: k }, () => (rnd() < 0.5 ? 1 : 0));

  const tool = requireTools('yosys').yosys;
  const file = baselinePath(tool);
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Baseline) : undefined;
  const base = stored && stored.layer.k === k && stored.layer.m === m ? stored : undefined;
  const tol = base?.tolerance ?? TOLERANCE;
  console.log(`bench/xnor: one binary FC layer, K = ${k} inputs, M = ${m} outputs (thresholded), xc7 synthesis by ${tool} synth_xilinx`);
  console.log(
    base
      ? `  each count: now (baseline ${file.slice(file.lastIndexOf('baselines/'))}, now / baseline); tolerance ${METRICS.map((m) => `${m} +${(100 * tol[m]).toFixed(0)}%`).join(', ')}`
      : `  no baseline for this yosys version and layer (${file.slice(file.lastIndexOf('baselines/'))}): --store-baseline writes one`,
  );
  const head = ['P x S', 'cycles', 'ideal', 'bits/cycle', 'peak S·P', 'of peak', 'LUT', 'FF', 'BRAM18', 'DSP', 'LUTRAM', 'ops/cycle/LUT', 'synth s'];
  const rows: string[][] = [];
  const sizes: Baseline['sizes'] = {};
  const regressions: string[] = [];
  for (const [pe, simd] of [[4, 32], [16, 64], [32, 128]]) {
    const sh = layerShape(bundle.layers[0], pe, simd, 1);
    const c = validateXnorConfig(
      { ...NUMERIC, pe, simd, bwnLanes: 0, maxCols: k, maxRows: m, weightDepth: 2 ** Math.ceil(Math.log2(sh.groups * sh.wordsPerRow)), paramDepth: 2 ** Math.ceil(Math.log2(Math.max(2, sh.groups))), maxLayers: 1 },
      'bench config',
    );
    const res = simulate(bundle, [x], { config: c });
    if (!res.golden.match) throw new Error(`P ${pe} S ${simd}: RTL disagrees with the golden model`);
    const cycles = res.layerCycles[0][0];
    const bpc = (k * m) / cycles;
    const syn = synthXilinx(renderXnor(c), 'xnor_top');
    const size = `${pe}x${simd}`;
    const opsPerCycleLut = (2 * bpc) / syn.luts;
    sizes[size] = { luts: syn.luts, ffs: syn.ffs, bram18: syn.bram18, dsp: syn.dsp, lutram: syn.lutram, opsPerCycleLut: Number(opsPerCycleLut.toFixed(3)) };
    const cmp = compare(sizes[size], base?.sizes[size], tol);
    regressions.push(...cmp.regressions.map((r) => `${pe} x ${simd}: ${r}`));
    const baseOps = base?.sizes[size] ? ` (${base.sizes[size].opsPerCycleLut.toFixed(3)})` : '';
    rows.push([
      `${pe} x ${simd}`, String(cycles), String(sh.folds * sh.groups), bpc.toFixed(1), String(pe * simd), `${((100 * bpc) / (pe * simd)).toFixed(1)}%`,
      ...cmp.cells, `${opsPerCycleLut.toFixed(3)}${baseOps}`, syn.seconds.toFixed(1),
    ]);
  }
  const all = [head, ...rows];
  const width = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log('  ' + r.map((cell, i) => cell.padStart(width[i])).join('  '));
  console.log('  (LUT/FF/BRAM count the whole unit: command decoder, buffers, weight and threshold memories, P popcount trees;');
  console.log('   LUTRAM counts distributed-RAM cells (RAM32M, RAM64M, ...), which LUT does not include.)');
  if (base) console.log(regressions.length ? regressions.map((r) => `  REGRESSION ${r}`).join('\n') : '  no regression against the baseline');
  if (args.includes('--store-baseline')) {
    writeFileSync(file, JSON.stringify({ tool, layer: { k, m }, tolerance: tol, sizes } satisfies Baseline, null, 2) + '\n');
    console.log(`  baseline stored: ${file.slice(file.lastIndexOf('bench/'))}`);
  }
  benchConv(rnd);
  console.log(`FINN (Umuroglu et al., FPGA'17), ZC706 at ${FINN_MHZ} MHz, whole networks of MVTUs (figures to re-check, see bench/xnor.ts):`);
  for (const f of FINN) {
    const opsPerCycle = (f.tops * 1e12) / (FINN_MHZ * 1e6);
    console.log(`  ${f.design.padEnd(8)} ${f.tops.toFixed(3)} TOPS, ${f.luts} LUTs: ${opsPerCycle.toFixed(0)} binary ops/cycle, ${(opsPerCycle / f.luts).toFixed(3)} ops/cycle/LUT`);
  }
}

/**
 * A CNV-style binary convolution through the sliding-window generator: 64 channels of 16x16, 3x3 'same', 128
 * outputs, 2x2 max-pool, on P = 16, S = 64. Cycles against positions·ceil(M/P)·k²·ceil(C/S) and the S·P peak.
 */
export function benchConv(rnd: () => number): void {
  const [c, h, k, m, pool, pe, simd] = [64, 16, 3, 128, 2, 16, 64];
  const cols = c * k * k;
  const layer: FloatLayer = {
    name: 'conv', rows: m, cols, weight: Float32Array.from({ length: m * cols }, () => rnd() - 0.5), relu: false,
    conv: { inChannels: c, inHeight: h, inWidth: h, kernel: k, padding: 'same' }, pool,
  };
  const bundle = binarizeModel({ source: 'bench', layers: [layer] }, { numeric: NUMERIC, firstInput: 'binary', lastOutput: 'threshold' });
  const x = Int32Array.from({ length: h * h * c }, () => (rnd() < 0.5 ? 1 : 0));
  const config = xnorConfigForBundle(bundle, { pe, simd });
  const res = simulate(bundle, [x], { config });
  if (!res.golden.match) throw new Error('conv: RTL disagrees with the golden model');
  const g = xnorGeometry(bundle, pe, simd, 1)[0];
  const ideal = g.positions * g.groups * g.folds;
  const cycles = res.layerCycles[0][0];
  const bpc = (h * h * cols * m) / cycles;
  console.log(
    `conv ${c}x${h}x${h}, ${k}x${k} same, -> ${m}, pool ${pool} on P = ${pe}, S = ${simd}: ${cycles} cycles (ideal ${ideal}), ` +
      `${bpc.toFixed(1)} binary MACs/cycle of ${pe * simd} peak (${((100 * bpc) / (pe * simd)).toFixed(1)}%)`,
  );
}

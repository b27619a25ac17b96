/**
 * bench/targets: what `hwgen build` makes for each target, as a table per target (a section per target below;
 * a new target adds its section to SECTIONS). For the Xilinx parts: LUT, FF, RAMB18 and DSP of the shell and
 * engine behind the AXI top (the zynq and pcie builds' RTL), from `yosys synth_xilinx`, for the default models
 * at several PE counts beside the estimate the fit check decides by (and their ratio), and the largest build
 * that fits each part; Fmax is n/a for Xilinx parts (nextpnr has no
 * 7-series or UltraScale+ flow, and Vivado is not run here). Throughput: images per second of the default
 * LeNet-300-100 on the EIE engine at each target's clock, from the cycles a Verilator run counts on real
 * Fashion-MNIST test images, compute alone and with the link's bytes at one byte per clock.
 * Usage: npm run bench -- targets [--pes 1,2,4,8,16,32,64] [--images 20]
 */
import { readAnyBundle } from '../src/model/bundle.js';
import { DEFAULT_MODELS } from '../src/model/default-models.js';
import type { AnyEngine } from '../src/engines/engine.js';
import { engineFor } from '../src/engines/registry.js';
import type { XilinxFamily } from '../src/gen/synth.js';
import type { AnyBundle } from '../src/model/types.js';
import { FRAME_OVERHEAD_WORDS } from '../src/protocol/link.js';
import { runCommand } from '../src/protocol/command-words.js';
import { DEFAULT_SHELL } from '../src/shell/config.js';
import { AXI_TOP, renderAxiTop } from '../src/targets/axi.js';
import { estimateXilinx } from '../src/targets/estimate.js';
import { FLATTEN_UP_TO_PES, XILINX_PARTS, xilinxCounts, type XilinxCapacity } from '../src/targets/xilinx.js';
import { FASHION_MNIST_DIR, loadTestSet } from '../src/train/dataset.js';
import { xnorConfigForBundle } from '../src/engines/xnor/config.js';
import { simulate } from '../host/simulate.js';
import { argValue } from './args.js';

interface Section {
  title: string;
  run(args: string[]): void;
}

const XILINX_CLOCK_HZ = 100_000_000;

/** A build of the default model with n processing elements (EIE PEs, XNOR rows), or undefined when there is none. */
function build(engine: AnyEngine, bundle: AnyBundle, base: object, n: number) {
  try {
    return engine.withPes(bundle, base, n);
  } catch {
    return undefined;
  }
}

const SHELL = { ...DEFAULT_SHELL, clockHz: XILINX_CLOCK_HZ };

function measure(engine: AnyEngine, config: object, family: XilinxFamily, hierarchical: boolean) {
  const t0 = performance.now();
  const c = xilinxCounts(renderAxiTop(engine, config, SHELL), AXI_TOP, family, hierarchical);
  return { ...c, seconds: (performance.now() - t0) / 1000 };
}

/** The estimate the fit check decides by (src/targets/estimate.ts) for the same build, and its ratio to yosys's counts. */
function estimateColumns(engine: AnyEngine, config: object, family: XilinxFamily, hierarchical: boolean, c: { luts: number; ffs: number; bram18: number; dsp: number }, cap: XilinxCapacity): string {
  const t0 = performance.now();
  const e = estimateXilinx(engine, config, SHELL, family, cap, hierarchical ? 'hierarchical' : 'flat');
  const ms = performance.now() - t0;
  if (!e) return '  (no estimate for this engine)';
  const pairs = [[e.LUT.used, c.luts], [e.FF.used, c.ffs], [e.BRAM18.used, c.bram18], [e.DSP.used, c.dsp]];
  return `  ${pairs.map(([v]) => String(v).padStart(6)).join(' ')}  ${pairs.map(([v, y]) => (y ? v / y : v ? Infinity : 1).toFixed(3).padStart(5)).join(' ')}  ${ms.toFixed(1).padStart(5)}`;
}

const fits = (c: { luts: number; ffs: number; bram18: number; dsp: number }, cap: XilinxCapacity) =>
  c.luts <= cap.LUT && c.ffs <= cap.FF && c.bram18 <= cap.BRAM18 && c.dsp <= cap.DSP;

const pct = (used: number, of: number) => `${((100 * used) / of).toFixed(1)}%`;

/** The largest n in (lo, hi) whose build fits, given lo fits and hi does not (binary search; yosys results are cached). */
function largestFitting(engine: AnyEngine, bundle: AnyBundle, base: object, family: XilinxFamily, cap: XilinxCapacity, lo: number, hi: number, step: (n: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const b = build(engine, bundle, base, mid);
    if (b && step(mid) && fits(measure(engine, b.config, family, mid > FLATTEN_UP_TO_PES), cap)) lo = mid;
    else hi = mid;
  }
  return lo;
}

function xilinxSweep(label: string, bundle: AnyBundle, base: object, counts: number[]): void {
  const engine = engineFor(bundle);
  const cap = XILINX_PARTS.xc7z020;
  console.log(`\n${label}: ${engine.title} engine with the shell and the AXI-Stream adapter (hwgen_axi_top), yosys synth_xilinx -family xc7, xc7z020 (${cap.LUT} LUT, ${cap.FF} FF, ${cap.BRAM18} RAMB18, ${cap.DSP} DSP)`);
  console.log('   n  build                              LUT      FF  RAMB18   DSP   LUT %  RAMB18 %  fits  Fmax  synth s  yosys        ' +
    '  estimate: LUT     FF RAMB18  DSP  est/yosys: LUT    FF RAMB18  DSP  est ms');
  let lastFit = 0;
  let firstOver: number | undefined;
  for (const n of counts) {
    const b = build(engine, bundle, base, n);
    if (!b) {
      console.log(`${String(n).padStart(4)}  (no such build for this model)`);
      continue;
    }
    const row = (hierarchical: boolean) => {
      const c = measure(engine, b.config, 'xc7', hierarchical);
      console.log(
        `${String(n).padStart(4)}  ${engine.describe(b.config).padEnd(32)} ${String(c.luts).padStart(6)}  ${String(c.ffs).padStart(6)}  ${String(c.bram18).padStart(6)}  ${String(c.dsp).padStart(4)}  ` +
          `${pct(c.luts, cap.LUT).padStart(6)}  ${pct(c.bram18, cap.BRAM18).padStart(8)}  ${(fits(c, cap) ? 'yes' : 'no').padStart(4)}   n/a  ${c.seconds.toFixed(1).padStart(7)}  ${(hierarchical ? 'hierarchical' : 'flattened').padEnd(12)}` +
          `          ${estimateColumns(engine, b.config, 'xc7', hierarchical, c, cap)}`,
      );
      return fits(c, cap);
    };
    const ok = row(n > FLATTEN_UP_TO_PES);
    if (n === FLATTEN_UP_TO_PES) row(true); // the largest flattened size both ways, to compare
    if (ok && firstOver === undefined) lastFit = n;
    if (!ok && firstOver === undefined) firstOver = n;
  }
  // Past the engine's largest build (EIE: 64 PEs) there is nothing to search.
  const noMore = (n: number) => !build(engine, bundle, base, n + 1);
  const z =
    firstOver !== undefined ? String(largestFitting(engine, bundle, base, 'xc7', cap, lastFit, firstOver, () => true))
    : noMore(lastFit) ? `${lastFit}, the engine's largest build`
    : `at least ${lastFit} (the sweep's largest)`;
  console.log(`  largest that fits xc7z020 (PYNQ-Z2, ZedBoard): ${z}`);
  // UltraScale+: start from the sweep's largest; search upward by doubling, then between.
  const up = XILINX_PARTS.xczu7ev;
  let lo = 0;
  let loUse = '';
  let hi: number | undefined;
  for (let n = Math.max(1, lastFit); n <= 1024; n *= 2) {
    const b = build(engine, bundle, base, n);
    if (!b) break;
    const c = measure(engine, b.config, 'xcup', n > FLATTEN_UP_TO_PES);
    if (fits(c, up)) {
      lo = n;
      loUse = `${c.luts} LUT (${pct(c.luts, up.LUT)}), ${c.ffs} FF, ${c.bram18} RAMB18 (${pct(c.bram18, up.BRAM18)}), ${c.dsp} DSP`;
    } else {
      hi = n;
      break;
    }
    if (n >= 256) break;
  }
  const u =
    hi !== undefined ? String(largestFitting(engine, bundle, base, 'xcup', up, lo, hi, () => true))
    : noMore(lo) ? `${lo}, the engine's largest build: ${loUse}`
    : `at least ${lo}: ${loUse}`;
  console.log(`  largest that fits xczu7ev (ZCU104), yosys -family xcup: ${u}`);
}

/** Cycles per image of the default EIE model on real test images, and the link bytes one inference moves. */
function throughput(args: string[]): void {
  const images = argValue(args, '--images', 20);
  const bundle = readAnyBundle(DEFAULT_MODELS.eie);
  const engine = engineFor(bundle);
  const test = loadTestSet(FASHION_MNIST_DIR);
  const xs = Array.from({ length: images }, (_, n) => engine.quantizeInput(bundle, test.images.subarray(n * test.pixels, (n + 1) * test.pixels)));
  console.log(`\nthroughput: the default ${bundle.meta.source ?? 'model'} (EIE), ${images} Fashion-MNIST test images under Verilator; at ${XILINX_CLOCK_HZ / 1e6} MHz (zynq, pcie)`);
  // The shell takes a request byte per clock and sends a reply word in 6 clocks (docs/shell.md, Timing); one
  // inference is a request frame, the run, a reply frame, one after another.
  console.log(' PEs  cycles/image  images/s (compute)  request B  reply B  link clocks  images/s (compute + link)  cycle model (every activation non-zero): cycles, images/s, model/sim');
  for (const pes of [1, 4, 16, 64]) {
    const res = simulate(bundle, xs, { pes });
    if (!res.golden.match) throw new Error(`${pes} PEs: the RTL disagrees with the golden model`);
    const cycles = res.cycles.reduce((a, b) => a + b, 0) / images;
    const cmds = [...engine.inputCommands(res.bundle, xs[0], res.config), runCommand(res.bundle.layers.length), ...engine.readCommands(res.bundle, res.config)];
    const request = 4 * (cmds.reduce((s, c) => s + c.words.length, 0) + FRAME_OVERHEAD_WORDS);
    const replyWords = cmds.reduce((s, c) => s + 1 + c.respWords, 0) + FRAME_OVERHEAD_WORDS;
    const link = request + 6 * replyWords;
    const model = engine.cycleModel(res.bundle, res.config);
    console.log(
      `${String(pes).padStart(4)}  ${cycles.toFixed(0).padStart(12)}  ${(XILINX_CLOCK_HZ / cycles).toFixed(0).padStart(18)}  ${String(request).padStart(9)}  ` +
        `${String(4 * replyWords).padStart(7)}  ${String(link).padStart(11)}  ${(XILINX_CLOCK_HZ / (cycles + link)).toFixed(0).padStart(9)}` +
        `                  ${String(model).padStart(6)}  ${(XILINX_CLOCK_HZ / model).toFixed(0).padStart(7)}  ${(model / cycles).toFixed(2).padStart(5)}`,
    );
  }
}

/** One section per target family; ice40 adds its own. */
export const SECTIONS: Section[] = [
  {
    title: 'xilinx-eie',
    run: (args) => {
      const list = args.includes('--pes') ? args[args.indexOf('--pes') + 1].split(',').map(Number) : [1, 2, 4, 8, 16, 32, 64];
      const bundle = readAnyBundle(DEFAULT_MODELS.eie);
      const engine = engineFor(bundle);
      xilinxSweep('zynq / pcie, EIE (the default LeNet-300-100)', bundle, engine.plan(bundle, {}).config, list);
    },
  },
  {
    title: 'xilinx-xnor',
    run: (args) => {
      const list = args.includes('--rows') ? args[args.indexOf('--rows') + 1].split(',').map(Number) : [1, 2, 4, 8, 16, 32, 64];
      const bundle = readAnyBundle(DEFAULT_MODELS.xnor);
      if (bundle.engine !== 'xnor') throw new Error('the default binary model is not an XNOR bundle');
      xilinxSweep('zynq / pcie, XNOR (the default binarized MLP), P rows x S = 64 lanes', bundle, xnorConfigForBundle(bundle, { pe: 1, simd: 64, bwnLanes: 16 }), list);
    },
  },
  { title: 'throughput', run: throughput },
];

export function benchTargets(args: string[]): void {
  const only = args.includes('--section') ? args[args.indexOf('--section') + 1] : undefined;
  for (const s of SECTIONS) if (!only || s.title === only) s.run(args);
}

/**
 * bench/sim: the simulator's own speed. One Alex-7-shaped layer (2048 × 2048 at EIE's 9% weights, 35%
 * activations) on the Verilator model of the EIE engine at 4, 16 and 64 PEs: the bundle loads, then
 * a batch of inputs runs, checked against the golden model. Prints simulated cycles per second of the whole run
 * (reset, load, runs, reads) by the wall clock and by the model's own CPU time (the figure that holds on a busy
 * machine), and the build time.
 * Usage: npm run bench -- sim [--pes 4,16,64] [--inputs 16]
 */
import { configHash } from '../src/engines/eie/config.js';
import { simulate } from '../host/simulate.js';
import { argValue } from './args.js';
import { configFor, oneLayer, randomLayer } from './eie.js';

function input(cols: number, density: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return Int32Array.from({ length: cols }, () => (r() < density ? (r() < 0.5 ? -1 : 1) * (1 + Math.floor(r() * 200)) : 0));
}

export function benchSim(args: string[]): void {
  const at = args.indexOf('--pes');
  const list = at >= 0 ? args[at + 1].split(',').map(Number) : [4, 16, 64];
  const n = argValue(args, '--inputs', 16);
  const size = 2048;
  console.log(`bench/sim: one ${size}x${size} layer (9% weights), ${n} inputs (35% non-zero), the EIE engine under Verilator`);
  const head = ['PEs', 'config', 'build', 'load cycles', 'run cycles', 'cycles/s', 'cycles/cpu-s'];
  const rows: string[][] = [];
  for (const pes of list) {
    const layer = randomLayer('sim', size, size, 0.09, pes, 11);
    const bundle = oneLayer(layer, pes);
    const config = configFor([bundle], pes, 8);
    const xs = Array.from({ length: n }, (_, i) => input(size, 0.35, 100 + i));
    const res = simulate(bundle, xs, { config });
    if (!res.golden.match) throw new Error(`${pes} PEs: the RTL disagrees with the golden model (${JSON.stringify(res.golden.firstMismatch)})`);
    const run = res.cycles.reduce((a, b) => a + b, 0);
    rows.push([
      String(pes), configHash(config), res.build.cached ? 'cached' : `${res.build.seconds.toFixed(0)} s`, String(res.loadCycles), String(run),
      res.cyclesPerSecond.toExponential(2), res.cyclesPerCpuSecond.toExponential(2),
    ]);
  }
  const all = [head, ...rows];
  const width = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  for (const r of all) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(width[c]) : cell.padStart(width[c]))).join('  '));
  console.log('cycles/s = simulated cycles / wall-clock seconds of the model process; cycles/cpu-s = / its CPU seconds');
}

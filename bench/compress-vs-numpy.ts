/**
 * bench/compress-vs-numpy: the whole `hwgen compress` of one 9216×4096 float32 layer (AlexNet fc6's shape, the
 * layer bench/compress times stage by stage) as one process, against the usual Python baseline on the same
 * file as one process: numpy magnitude pruning to the same density, then scipy's kmeans2 (20 iterations, 15
 * centroids, linear initialization as Deep Compression's) over the kept weights. Both are timed from process
 * start to exit, alternately, and the median of each is compared: wall-clock time, and on Linux the CPU time
 * each process used (the fairer figure on a machine that others share: it leaves out the time spent waiting). hwgen also encodes CSC for 64 PEs,
 * Huffman-codes, writes the bundle and checks it against the float network; the baseline does none of that.
 * Usage: npm run bench -- compress-vs-numpy [--rows 4096] [--cols 9216] [--repeat 3]
 * Needs a Python 3 with numpy and scipy (Debian: python3-numpy python3-scipy), or $HWGEN_PYTHON pointing at one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy } from '../src/model/npy.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { argValue } from './args.js';
import { gaussianWeights } from './weights.js';

const DENSITY = 0.09;
const BITS = 4;
const PES = 64;
const KMEANS_ITERATIONS = 20;

/** The baseline: argv = weights.npy, density, centroids, iterations; prints its own stage times as JSON. */
const BASELINE = `
import sys, time, json
t0 = time.perf_counter()
import numpy as np
from scipy.cluster.vq import kmeans2
path, density, k, iters = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t1 = time.perf_counter()
w = np.load(path)
t2 = time.perf_counter()
flat = np.abs(w).ravel()
keep = round(density * flat.size)
kept = np.argpartition(flat, flat.size - keep)[flat.size - keep:]
values = w.ravel()[kept].astype(np.float64)
t3 = time.perf_counter()
init = np.linspace(values.min(), values.max(), k)
centroids, labels = kmeans2(values, init, iter=iters, minit='matrix')
t4 = time.perf_counter()
print(json.dumps({'import': t1 - t0, 'load': t2 - t1, 'prune': t3 - t2, 'kmeans2': t4 - t3, 'kept': int(keep)}))
`;

export function benchCompressVsNumpy(args: string[]): void {
  const rows = argValue(args, '--rows', 4096);
  const cols = argValue(args, '--cols', 9216);
  const repeat = argValue(args, '--repeat', 3);
  if (![rows, cols, repeat].every((x) => Number.isInteger(x) && x > 0)) throw new Error('--rows, --cols and --repeat take positive integers');
  const python = findPython();
  const hwgen = join(PACKAGE_ROOT, 'bin', 'hwgen.js');
  const compiled = existsSync(join(PACKAGE_ROOT, 'dist', 'src', 'cli.js'));
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-bench-'));
  try {
    const input = join(dir, 'fc6.npy');
    writeFileSync(input, encodeNpy({ dtype: 'f4', shape: [rows, cols], data: gaussianWeights(rows, cols) }));
    const hw: Timing[] = [];
    const py: Timing[] = [];
    let stages: Record<string, number> = {};
    for (let r = 0; r < repeat; r++) {
      hw.push(timed(process.execPath, [hwgen, 'compress', input, '-o', join(dir, 'fc6.hwb'), '--density', String(DENSITY), '--bits', String(BITS), '--pes', String(PES)]));
      const p = timed(python, ['-c', BASELINE, input, String(DENSITY), String(2 ** BITS - 1), String(KMEANS_ITERATIONS)]);
      py.push(p);
      stages = JSON.parse(p.stdout) as Record<string, number>;
    }
    console.log(`bench/compress-vs-numpy: one ${cols} inputs x ${rows} outputs float32 layer, density ${DENSITY}, ${2 ** BITS - 1} centroids; median of ${repeat}, each a whole process`);
    console.log(`  hwgen compress: ${compiled ? 'the compiled dist/' : 'the TypeScript sources through tsx (npm run build first for the compiled CLI)'}; ${PES} PEs, Huffman, bundle written, float check`);
    console.log(`  baseline: numpy prune + scipy kmeans2 (${KMEANS_ITERATIONS} iterations) in ${python}; last run: ${Object.entries(stages).filter(([k]) => k !== 'kept').map(([k, s]) => `${k} ${s.toFixed(2)} s`).join(', ')} (wall)`);
    const runs = (xs: number[]) => `${median(xs).toFixed(2)} s [${xs.map((x) => x.toFixed(2)).join(', ')}]`;
    for (const [what, pick] of [['wall clock', (t: Timing) => t.seconds], ['CPU', (t: Timing) => t.cpu]] as const) {
      const h = hw.map(pick);
      const n = py.map(pick);
      if (!h.every((x) => x !== undefined) || !n.every((x) => x !== undefined)) continue;
      const ratio = median(h as number[]) / median(n as number[]);
      console.log(`  ${what.padEnd(10)}  hwgen ${runs(h as number[])}   baseline ${runs(n as number[])}   hwgen / baseline ${ratio.toFixed(2)}x${ratio <= 1 ? '' : ' (slower)'}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Timing {
  seconds: number;
  /** User + system CPU seconds of the process and what it waited for; undefined without /proc. */
  cpu?: number;
  stdout: string;
}

function timed(cmd: string, argv: string[]): Timing {
  const c0 = childCpu();
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  const c1 = childCpu();
  if (r.status !== 0) throw new Error(`${cmd} ${argv[0]} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return { seconds, cpu: c0 === undefined || c1 === undefined ? undefined : c1 - c0, stdout: r.stdout };
}

/**
 * CPU seconds of this process's finished children (cutime + cstime of /proc/self/stat, in the kernel's USER_HZ
 * ticks, 100 a second on Linux); undefined where there is no /proc.
 */
function childCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // fields after the command name, which is in parentheses and may hold spaces: cutime and cstime are 16 and 17
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** $HWGEN_PYTHON if set, else Debian's /usr/bin/python3, else python3 on PATH: the first that has numpy and scipy. */
function findPython(): string {
  const probe = 'import numpy, scipy.cluster.vq';
  const env = process.env.HWGEN_PYTHON;
  for (const candidate of env ? [env] : ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', probe], { stdio: 'ignore', timeout: 60_000 });
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error(
    `bench/compress-vs-numpy needs a Python 3 with numpy and scipy (tried ${env ? `HWGEN_PYTHON=${env}` : '/usr/bin/python3 and python3 on PATH'}): ` +
      `install Debian's python3-numpy and python3-scipy (apt-get install python3-numpy python3-scipy), or set HWGEN_PYTHON to a python3 that can '${probe}'.`,
  );
}

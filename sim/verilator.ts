import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  buildPrefix, cacheDir, dropRuntime, ensureCacheDir, keepRuntime, modelIntact, removeStaleBuilds, reuseRuntime, stampModel, withCleanupOnSignal,
} from './cache.js';
import { dirname, join } from 'node:path';
import { HwgenError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { requireTools } from '../src/tools.js';

export { cacheDir } from './cache.js';

export interface ModelSpec {
  /** The Verilog files, by name. */
  files: Map<string, string>;
  top: string;
  /** Build with FST tracing. */
  trace?: boolean;
  /** The top's interface: a word stream (an engine, the default) or a byte stream (the shell). */
  stream?: 'words' | 'bytes';
  /** A synthesized netlist with a vendor's cell models: they are not lint-clean, so warnings are not errors. */
  netlist?: boolean;
}

export interface BuiltModel {
  binary: string;
  /** True when it came from the cache. */
  cached: boolean;
  buildSeconds: number;
}

/** The one harness: a word-stream top by default, a byte-stream top with HWGEN_BYTE_STREAM defined. */
const HARNESS = join(PACKAGE_ROOT, 'sim', 'harness.cpp');

/** The files to compile: an include (.vh) is found by `include from the build folder, never compiled alone. */
export function compilationUnits(files: Map<string, string>): string[] {
  return [...files.keys()].filter((name) => !name.endsWith('.vh'));
}

/**
 * The Verilator command line of a model (make compiles what it writes, with MAKE_ARGS). -O3, --x-assign fast and
 * C++ at -O2 (Verilator's default is -Os): the fastest model, at no cost in build time measured. -fno-dfg: Verilator 5's DFG pass turns a wide bus of
 * per-PE slices (the engines' read-back ports) into a chain of concatenations evaluated every clock, a third of a
 * 64-PE engine's run (bench/sim). --x-initial unique with the seed and +verilator+rand+reset+2 the runs pass:
 * every register starts random, so a design that relies on an unreset register fails here, not on a board.
 */
export function verilatorFlags(spec: ModelSpec): string[] {
  return ['--cc', '--exe', '-O3', ...(spec.netlist ? ['--x-assign', 'unique'] : ['-fno-dfg', '--x-assign', 'fast']), '--x-initial', 'unique', '-Wall', '--top-module', spec.top, ...(spec.trace ? ['--trace-fst'] : []), ...(spec.netlist ? ['-Wno-fatal', '-Wno-lint', '-Wno-style'] : [])];
}

/** How make compiles a verilated model. */
const MAKE_ARGS = ['-j', '2', 'OPT_FAST=-O2', 'OPT_GLOBAL=-O2'];

/** The line that makes sim/harness.cpp a byte-stream harness, or none for a word stream. */
function harnessKind(spec: ModelSpec): string {
  return spec.stream === 'bytes' ? '#define HWGEN_BYTE_STREAM 1\n' : '';
}

/** The kept Verilator runtime a model's build can reuse: the same Verilator and flags but the top's name. */
function runtimeKey(flags: string[], verilatorVersion: string): string {
  const rest = flags.filter((f, i) => f !== '--top-module' && flags[i - 1] !== '--top-module');
  return createHash('sha256').update(verilatorVersion).update(JSON.stringify([rest, MAKE_ARGS])).digest('hex').slice(0, 16);
}

/** The cache entry of a model: its top and a hash of everything the binary is built from (`flags` for tests). */
export function modelKey(spec: ModelSpec, verilatorVersion: string, flags = verilatorFlags(spec)): string {
  const h = createHash('sha256');
  h.update(verilatorVersion).update(JSON.stringify([flags, MAKE_ARGS])).update(harnessKind(spec)).update(readFileSync(HARNESS));
  for (const [name, text] of [...spec.files].sort(([a], [b]) => a.localeCompare(b))) h.update(name).update('\0').update(text);
  return `${spec.top}-${h.digest('hex').slice(0, 16)}`;
}

/**
 * Builds a Verilator model of a word-stream or byte-stream top with sim/harness.cpp, or reuses the cached one
 * built from the same sources, harness, flags and Verilator version. -Wall with warnings fatal: every simulated config is
 * also lint-clean. Builds go to a fresh directory that is renamed into
 * place, so concurrent builds of one model cannot corrupt each other.
 */
export function buildModel(spec: ModelSpec): BuiltModel {
  const { verilator: version } = requireTools('verilator', 'g++');
  const flags = verilatorFlags(spec);
  const kind = harnessKind(spec);
  const key = modelKey(spec, version);
  const runtime = runtimeKey(flags, version);
  const root = cacheDir();
  const dir = join(root, key);
  const binary = join(dir, 'model');
  if (existsSync(binary)) {
    if (modelIntact(dir, binary)) return { binary, cached: true, buildSeconds: 0 };
    rmSync(dir, { recursive: true, force: true }); // damaged (or from before stamps): build it again
  }

  ensureCacheDir(root);
  removeStaleBuilds(root);
  const tmp = mkdtempSync(buildPrefix(root, key));
  const t0 = performance.now();
  withCleanupOnSignal(tmp, () => {
    try {
      for (const [name, text] of spec.files) writeFileSync(join(tmp, name), text);
      writeFileSync(join(tmp, 'sim_main.cpp'), `${kind}#define HWGEN_TOP V${spec.top}\n#define HWGEN_TOP_HEADER "V${spec.top}.h"\n#include "${HARNESS}"\n`);
      let reused = false;
      const steps: [string, string[]][] = [
        ['verilator', [...flags, '-Mdir', 'obj', '-o', '../model', ...compilationUnits(spec.files), 'sim_main.cpp']],
        ['make', ['-C', 'obj', '-f', `V${spec.top}.mk`, ...MAKE_ARGS]],
      ];
      for (const [program, args] of steps) {
        // Copied after verilator wrote the makefile, so make finds them newer than everything they depend on.
        if (program === 'make') reused = reuseRuntime(root, runtime, join(tmp, 'obj'));
        const r = spawnSync(program, args, { cwd: tmp, encoding: 'utf8', maxBuffer: 64 << 20 });
        if (r.signal) throw new HwgenError(`the Verilator build of ${spec.top} was interrupted (${r.signal})`, 130);
        if (r.error) throw new HwgenError(`cannot run ${program} to build ${spec.top} (${r.error.message}); install build-essential`);
        if (r.status !== 0) {
          if (reused && /verilated\w*\.o/.test(r.stderr + r.stdout)) dropRuntime(root, runtime); // damaged: built again next time
          throw new HwgenError(`${program} failed to build ${spec.top} (exit ${r.status}):\n${(r.stderr || r.stdout).slice(-4000)}`);
        }
      }
      if (!reused) keepRuntime(root, runtime, join(tmp, 'obj'));
      rmSync(join(tmp, 'obj'), { recursive: true, force: true });
      stampModel(tmp, join(tmp, 'model'));
      try {
        renameSync(tmp, dir);
      } catch {
        // Another process built the same model meanwhile: use theirs.
        if (!existsSync(binary)) throw new HwgenError(`cannot place the built model in ${dir}`);
        rmSync(tmp, { recursive: true, force: true });
      }
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  });
  return { binary, cached: false, buildSeconds: (performance.now() - t0) / 1000 };
}

/** What the harness prints on stderr when it ends: the cycles it ran and its own CPU time. */
export function harnessFigures(stderr: string): { cycles: number; cpuSeconds: number } {
  return { cycles: Number(/^cycles (\d+)/m.exec(stderr)?.[1] ?? 0), cpuSeconds: Number(/^cpu-seconds ([\d.]+)/m.exec(stderr)?.[1] ?? NaN) };
}

/**
 * Feeds command words to a built stream model; returns its response words, the cycles it ran, the wall-clock
 * seconds of the run and the model's own CPU seconds (the figure for its speed on a busy machine).
 */
export function runStream(
  binary: string,
  words: Uint32Array,
  extraArgs: string[] = [],
): { words: Uint32Array; cycles: number; seconds: number; cpuSeconds: number } {
  const t0 = performance.now();
  // Registers start random (seeded by the stream, so a run reproduces): a design that relies on an unreset
  // register fails here instead of on a board.
  let seed = 1;
  for (let i = 0; i < words.length; i += 97) seed = (Math.imul(seed, 31) + words[i]) >>> 0;
  const args = ['+verilator+rand+reset+2', `+verilator+seed+${(seed % 2147483646) + 1}`, ...extraArgs];
  const r = spawnSync(binary, args, { input: Buffer.from(words.buffer, words.byteOffset, words.byteLength), maxBuffer: 1 << 30 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    // A crash of a model that built and passed lint is more likely a damaged cache entry than a design bug.
    const hint = r.signal || r.error ? `; if the cached model is damaged, delete ${dirname(binary)} and run again` : '';
    throw new HwgenError(`the simulator failed (${how}): ${(r.stderr?.toString() ?? String(r.error)).trim()}${hint}`);
  }
  const out = r.stdout;
  if (out.byteLength % 4) throw new HwgenError(`the simulator answered ${out.byteLength} bytes, not whole words`);
  const resp = new Uint32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  return { words: resp, ...harnessFigures(r.stderr.toString()), seconds };
}

/**
 * Feeds bytes to a built byte-stream model (sim/harness.cpp, all read before the first clock, so a run
 * reproduces); returns the bytes it sent, the cycles it ran and the seconds as runStream does. `gaps`: after `at` bytes went in, the link
 * stays quiet for `cycles` clocks; `waits`: after that many bytes went in, the link waits until the top is idle
 * (every reply sent), as a host does that waits for its replies.
 */
export function runBytes(
  binary: string,
  bytes: Uint8Array,
  opts: { gaps?: { at: number; cycles: number }[]; waits?: number[]; extraArgs?: string[] } = {},
): { bytes: Uint8Array; cycles: number; seconds: number; cpuSeconds: number } {
  const t0 = performance.now();
  let seed = 1;
  for (let i = 0; i < bytes.length; i += 97) seed = (Math.imul(seed, 31) + bytes[i]) >>> 0;
  const args = ['+verilator+rand+reset+2', `+verilator+seed+${(seed % 2147483646) + 1}`, '--read-all',
    ...(opts.gaps ?? []).flatMap((g) => ['--gap', `${g.at}:${g.cycles}`]), ...(opts.waits ?? []).flatMap((w) => ['--wait', `${w}`]),
    ...(opts.extraArgs ?? [])];
  const r = spawnSync(binary, args, { input: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), maxBuffer: 1 << 30 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new HwgenError(`the simulator failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  return { bytes: new Uint8Array(r.stdout), ...harnessFigures(r.stderr.toString()), seconds };
}

/** `verilator --lint-only -Wall` on generated files; returns what it printed (nothing when clean). */
export function lintModel(files: Map<string, string>, top: string): { output: string; status: number | null } {
  requireTools('verilator');
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-lint-'));
  try {
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const r = spawnSync('verilator', ['--lint-only', '-Wall', '--top-module', top, ...compilationUnits(files)], { cwd: dir, encoding: 'utf8' });
    return { output: r.stdout + r.stderr, status: r.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

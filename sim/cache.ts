import { createHash } from 'node:crypto';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { HwgenError } from '../src/errors.js';

/**
 * The model cache: one directory per built model, named by what it was built from. A build happens in a
 * `.build-<key>-<pid>-*` directory renamed into place when done; a stamp holds the model binary's hash, so a
 * damaged entry is found and rebuilt rather than run.
 */

const STAMP = 'model.sha256';
const HOW_TO_SET = 'set HWGEN_CACHE to a writable directory (or unset it for ~/.cache/hwgen)';

/** The cache root: $HWGEN_CACHE, else $XDG_CACHE_HOME/hwgen, else ~/.cache/hwgen. */
export function cacheDir(): string {
  const env = process.env.HWGEN_CACHE;
  if (env === '') throw new HwgenError(`HWGEN_CACHE is set but empty; ${HOW_TO_SET}`);
  return resolve(env ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hwgen'));
}

/**
 * Creates the cache root if needed and checks it is a writable directory. Creates one level at a time:
 * Node's recursive mkdir never returns under /proc.
 */
export function ensureCacheDir(root: string): void {
  const missing: string[] = [];
  let dir = root;
  for (;;) {
    const kind = kindOf(dir);
    if (kind === 'dir') break;
    if (kind === 'other') throw new HwgenError(`the model cache ${root}: ${dir} is not a directory; ${HOW_TO_SET}`);
    missing.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  try {
    for (const d of missing) mkdirSync(d);
    accessSync(root, constants.W_OK);
    // access() says yes to root on any directory: only creating something proves it (read-only mounts, /proc).
    const probe = join(root, `.probe-${process.pid}`);
    mkdirSync(probe);
    rmSync(probe, { recursive: true, force: true });
  } catch (e) {
    throw new HwgenError(`the model cache ${root} is not a writable directory (${(e as NodeJS.ErrnoException).code ?? e}); ${HOW_TO_SET}`);
  }
}

function kindOf(path: string): 'dir' | 'other' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing'; // ENOTDIR: an ancestor is a file, found next
    return 'other';
  }
}

/** Writes the stamp of a freshly built model binary in `dir`. */
export function stampModel(dir: string, binary: string): void {
  writeFileSync(join(dir, STAMP), sha256(readFileSync(binary)));
}

/** True when `dir` holds a model whose binary still has the hash it was built with. */
export function modelIntact(dir: string, binary: string): boolean {
  try {
    return readFileSync(join(dir, STAMP), 'utf8') === sha256(readFileSync(binary));
  } catch {
    return false;
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The prefix of this process's build directories for model `key`. */
export function buildPrefix(root: string, key: string): string {
  return join(root, `.build-${key}-${process.pid}-`);
}

/** Removes build directories left by processes that no longer run (killed before they could clean up). */
export function removeStaleBuilds(root: string): void {
  for (const name of safeReaddir(root)) {
    const m = /^\.build-.+-(\d+)-[^-]+$/.exec(name);
    if (m && !processRuns(Number(m[1]))) rmSync(join(root, name), { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Build directories in progress, removed if hwgen is interrupted. */
const building = new Set<string>();
let handlersInstalled = false;

/**
 * Runs `work` (which blocks in a child process) so that Ctrl-C or a SIGTERM never leaves `tmp` behind. Without a
 * handler the signal would kill hwgen outright; with one, Node delivers it once the blocking call returns (the
 * interrupted build has failed and removed `tmp` by then), and the handler removes whatever is left and exits.
 */
export function withCleanupOnSignal<T>(tmp: string, work: () => T): T {
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
      process.on(sig, () => {
        if (building.size > 0) process.stderr.write(`hwgen: interrupted (${sig}) while building; the partial build is removed\n`);
        for (const d of building) rmSync(d, { recursive: true, force: true });
        process.exit(128 + n);
      });
    }
  }
  building.add(tmp);
  try {
    return work();
  } finally {
    building.delete(tmp);
  }
}

/**
 * Verilator's runtime (verilated.o, verilated_threads.o, verilated_fst_c.o) is the same for every model built
 * with the same Verilator and flags, and compiling it is a third of a small model's build: the first build keeps
 * its objects in `.runtime-<key>`, later builds copy them into their object folder before make runs, and make
 * finds them newer than their sources and skips them.
 */
const RUNTIME_OBJECT = /^verilated.*\.o$/;

function runtimeDir(root: string, key: string): string {
  return join(root, `.runtime-${key}`);
}

/** Copies the kept runtime objects for `key` into `objDir` (created); true when there were any. */
export function reuseRuntime(root: string, key: string, objDir: string): boolean {
  const from = runtimeDir(root, key);
  const names = safeReaddir(from).filter((n) => RUNTIME_OBJECT.test(n));
  mkdirSync(objDir, { recursive: true });
  for (const n of names) copyFileSync(join(from, n), join(objDir, n));
  return names.length > 0;
}

/** Keeps the runtime objects of a successful build in `objDir`, unless some are kept already. */
export function keepRuntime(root: string, key: string, objDir: string): void {
  const to = runtimeDir(root, key);
  if (existsSync(to)) return;
  const tmp = `${buildPrefix(root, `runtime-${key}`)}tmp`; // removed as stale if this process dies
  try {
    mkdirSync(tmp);
    for (const n of safeReaddir(objDir).filter((n) => RUNTIME_OBJECT.test(n))) copyFileSync(join(objDir, n), join(tmp, n));
    renameSync(tmp, to);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another build kept them first, or the cache is full: build them next time
  }
}

/** Forgets the kept runtime objects for `key` (a build failed on them: they may be damaged). */
export function dropRuntime(root: string, key: string): void {
  rmSync(runtimeDir(root, key), { recursive: true, force: true });
}

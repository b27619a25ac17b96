import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { checkOutputs, fileError, readFileChecked } from '../atomic.js';
import type { BuildOptions } from '../engines/engine.js';
import { engineFor } from '../engines/registry.js';
import { HwgenError } from '../errors.js';
import { decodeAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODEL } from '../model/default-models.js';
import { HWGEN_VERSION } from '../paths.js';
import { shellHash, validateShellConfig, type ShellConfig } from '../shell/config.js';
import { writeHostFiles } from './host-files.js';
import { quietProgress } from './progress.js';
import { targetNamed } from './registry.js';
import type { BuildSummary, Progress, Target, TargetOption } from './target.js';

export interface BuildRequest {
  /** A registered target's name, or a Target of the caller's own. */
  target: string | Target;
  /** The bundle (.hwb); the package's default model when undefined. */
  model?: string;
  build?: BuildOptions;
  board?: string;
  /** The shell's parameters beyond the board's clock. */
  shell?: Partial<ShellConfig>;
  options?: Partial<Record<TargetOption, string | number | boolean>>;
  /** The output folder: created, or replaced with `force` when it holds an earlier build. */
  out: string;
  force?: boolean;
  progress?: Progress;
}

export interface BuildResult extends Omit<BuildSummary, 'build'> {
  manifest: Manifest;
}

/** DIR/manifest.json: what was built from what, and every file's SHA-256, so a folder can be checked. */
export interface Manifest {
  hwgen: string;
  target: string;
  board?: string;
  part?: string;
  engine: string;
  configHash: string;
  shellHash: string;
  config: object;
  shell: ShellConfig;
  model: { file: string; sha256: string };
  resources?: BuildSummary['resources'];
  clockHz?: number;
  fmaxMHz?: number;
  files: Record<string, string>;
}

export const MANIFEST = 'manifest.json';

/**
 * `hwgen build`: checks everything it can before any work (target, board, options, model, config, output
 * folder), then lets the target write into a scratch folder beside the output and renames it into place only
 * when the whole build succeeded: a failure leaves no output folder and touches nothing that was there.
 */
export async function buildTarget(req: BuildRequest): Promise<BuildResult> {
  const target = typeof req.target === 'string' ? targetNamed(req.target) : req.target;
  const options = req.options ?? {};
  for (const key of Object.keys(options) as TargetOption[]) {
    if (options[key] !== undefined && !target.options.includes(key)) {
      throw new HwgenError(`--${key} does nothing for --target ${target.name}${target.options.length ? ` (it takes ${target.options.map((o) => `--${o}`).join(', ')})` : ''}; leave it out`, 2);
    }
  }
  const boardName = req.board ?? target.defaultBoard;
  const names = Object.keys(target.boards);
  if (req.board !== undefined && !names.length) throw new HwgenError(`--target ${target.name} has no boards; leave --board out`, 2);
  const board = boardName === undefined ? undefined : target.boards[boardName];
  if (boardName !== undefined && (!board || !Object.hasOwn(target.boards, boardName))) {
    throw new HwgenError(`--board ${boardName}: --target ${target.name} knows ${names.join(', ')}`, 2);
  }
  const modelPath = req.model ?? DEFAULT_MODEL;
  checkOutputs([{ path: req.out, flag: '-o', folder: true }], [{ path: modelPath, flag: '--model' }, { path: req.build?.configFile?.where, flag: '--config' }]);
  const out = checkOutFolder(req.out, req.force ?? false);

  const bytes = readFileChecked(modelPath, 'model');
  const given = decodeAnyBundle(bytes, modelPath);
  const engine = engineFor(given);
  const { bundle, config } = engine.plan(given, { ...req.build, part: board && target.partHints?.(board) });
  const shell = validateShellConfig({ ...(board ? { clockHz: board.clockHz } : {}), ...req.shell }, 'shell config');

  const progress = req.progress ?? quietProgress;
  const dir = scratchFolder(out.path, req.out);
  try {
    chmodSync(dir, 0o755); // mkdtemp's 0700 would make the output folder private
    const summary = await target.build({ engine, bundle, config, shell, board, boardName, given: req.build ?? {}, options, dir, outName: req.out, progress });
    progress.done();
    const built = summary.shell ?? shell;
    // The target may have chosen the build (zynq, pcie: the most PEs that fit): the host files and manifest follow it.
    const { bundle: builtBundle, config: builtConfig } = summary.build ?? { bundle, config };
    writeHostFiles(dir, engine, builtBundle, builtConfig, built);
    const manifest: Manifest = {
      hwgen: HWGEN_VERSION,
      target: target.name,
      ...(boardName ? { board: boardName, part: board!.part } : {}),
      engine: engine.name,
      configHash: engine.configHash(builtConfig),
      shellHash: shellHash(engine.configHash(builtConfig), built),
      config: builtConfig,
      shell: built,
      model: { file: basename(modelPath), sha256: sha256(bytes) },
      ...(summary.resources ? { resources: summary.resources } : {}),
      ...(summary.clockHz !== undefined ? { clockHz: summary.clockHz } : {}),
      ...(summary.fmaxMHz !== undefined ? { fmaxMHz: summary.fmaxMHz } : {}),
      files: fileHashes(dir),
    };
    writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    putInPlace(dir, out);
    const { build: _chosen, ...figures } = summary; // the manifest names the build; the bundle stays out of the result
    return { ...figures, manifest };
  } catch (e) {
    progress.done();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under `dir` (but the manifest) by its path there, sorted, with its SHA-256. */
export function fileHashes(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p !== join(dir, MANIFEST)) files[relative(dir, p).split(sep).join('/')] = sha256(readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

/**
 * The scratch folder beside the output, made before any long step: a place where no folder can be made (/proc,
 * /sys, a read-only file system, a folder without write permission) is refused at once.
 */
function scratchFolder(real: string, given: string): string {
  try {
    return mkdtempSync(join(dirname(real), `.${basename(real)}.building-`));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why: Record<string, string> = {
      ENOENT: 'that file system does not let a folder be made there',
      EPERM: 'the operation is not permitted there',
      EACCES: 'permission denied',
      EROFS: 'it is a read-only file system',
      ENOSPC: 'no space left on the device',
    };
    throw new HwgenError(`-o ${given}: cannot create a folder in ${dirname(real)} (${why[code] ?? (e as Error).message}); choose another output folder`);
  }
}

/**
 * The output folder: new, empty, or (with --force) an earlier build's. A symlink to a folder means that folder.
 * --force replaces a folder only when everything in it is what an earlier build listed in its manifest: a file of
 * the user's beside a build would be deleted with it, so such a folder is refused with the files named, and the
 * user moves them (rather than hwgen carrying unknown files into a new build whose manifest does not list them).
 */
function checkOutFolder(path: string, force: boolean): { path: string; existing: 'none' | 'empty' | 'build' } {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    const parent = resolve(dirname(path));
    let real: string;
    try {
      real = realpathSync(parent);
    } catch (e) {
      throw fileError('write', path, e, 'output folder');
    }
    if (!statSync(real).isDirectory()) throw new HwgenError(`-o ${path}: ${dirname(path)} is not a folder; choose another output folder`, 2);
    return { path: join(real, basename(path)), existing: 'none' };
  }
  const real = stats.isSymbolicLink() ? realpathOr(path) : realpathSync(path);
  if (!statSync(real).isDirectory()) throw new HwgenError(`-o ${path} is a file, not a folder; give a new or empty folder for the build`, 2);
  const entries = readdirSync(real);
  if (!entries.length) return { path: real, existing: 'empty' };
  if (!force) throw new HwgenError(`-o ${path} is not empty; give a new or empty folder, or --force to replace an earlier build there`, 2);
  if (!entries.includes(MANIFEST)) {
    throw new HwgenError(`-o ${path} holds files but no ${MANIFEST}: it is not an earlier hwgen build, so --force will not replace it; choose another folder`, 2);
  }
  const listed = earlierFiles(real, path);
  const foreign = folderEntries(real).filter((f) => f !== MANIFEST && !listed.has(f));
  if (foreign.length) {
    const names = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
    throw new HwgenError(`-o ${path} holds ${foreign.length} file(s) the earlier build did not write (${names}): --force replaces only what its ${MANIFEST} lists; move them out or choose another folder`, 2);
  }
  return { path: real, existing: 'build' };
}

/** The files an earlier build's manifest lists, or an error when the manifest is not one hwgen wrote. */
function earlierFiles(dir: string, given: string): Set<string> {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder().decode(readFileChecked(join(dir, MANIFEST), MANIFEST)));
  } catch (e) {
    throw new HwgenError(`-o ${given}: its ${MANIFEST} cannot be read as JSON (${(e as Error).message}), so it is no earlier hwgen build and --force will not replace it; choose another folder`, 2);
  }
  const files = (m as Partial<Manifest> | null)?.files;
  if (typeof (m as Partial<Manifest> | null)?.hwgen !== 'string' || typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new HwgenError(`-o ${given}: its ${MANIFEST} is not an hwgen build's (no "hwgen" version and "files" list), so --force will not replace it; choose another folder`, 2);
  }
  return new Set(Object.keys(files));
}

/** Every entry under `dir` that is not a folder holding something, by its path there ("rtl/x.v"; "logs/" for an empty folder). */
function folderEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    const es = readdirSync(d, { withFileTypes: true });
    if (!es.length && d !== dir) out.push(`${relative(dir, d).split(sep).join('/')}/`);
    for (const e of es) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw new HwgenError(`-o ${path} is a symbolic link to a path that does not exist; remove the link or choose another folder`, 2);
  }
}

/** The scratch folder becomes the output folder; an earlier build there goes only once the new one is in place. */
function putInPlace(dir: string, out: { path: string; existing: 'none' | 'empty' | 'build' }): void {
  if (out.existing === 'empty') rmdirSync(out.path);
  if (out.existing === 'build') {
    const old = mkdtempSync(join(dirname(out.path), `.${basename(out.path)}.old-`));
    renameSync(out.path, join(old, 'build'));
    renameSync(dir, out.path);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(dir, out.path);
  }
}

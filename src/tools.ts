import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { HwgenError } from './errors.js';

/**
 * The external programs hwgen runs, in one place: each with the Debian package that provides it and how to
 * ask its version. A build checks every tool it needs before it starts (requireTools), so a missing one is
 * named up front with its package, not half-way through a long run.
 */
export const TOOLS = {
  verilator: { pkg: 'verilator', probe: ['--version'] },
  'g++': { pkg: 'build-essential', probe: ['--version'] },
  yosys: { pkg: 'yosys', probe: ['-V'] },
  'nextpnr-ice40': { pkg: 'nextpnr-ice40', probe: ['--version'] },
  // icepack has no version flag: its usage text (exit 1) proves it runs.
  icepack: { pkg: 'fpga-icestorm', probe: ['-h'], probeStatus: 1 },
} as const satisfies Record<string, { pkg: string; probe: string[]; probeStatus?: number }>;

export type ToolName = keyof typeof TOOLS;

const versions = new Map<ToolName, string>();

/** The first line a tool prints about itself, run with `env`; undefined when it does not run. */
export function probeTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const t: { probe: readonly string[]; probeStatus?: number } = TOOLS[name];
  const r = spawnSync(name, t.probe, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, env });
  return r.error || r.status !== (t.probeStatus ?? 0) ? undefined : (r.stdout || r.stderr).trim().split('\n')[0];
}

/** The first line each tool prints about itself; one error naming every missing tool and its package. */
export function requireTools(...names: ToolName[]): Record<string, string> {
  const missing: ToolName[] = [];
  for (const name of names) {
    if (versions.has(name)) continue;
    const version = probeTool(name);
    if (version === undefined) missing.push(name);
    else versions.set(name, version);
  }
  if (missing.length) {
    const list = missing.map((n) => `${n} (Debian package '${TOOLS[n].pkg}')`).join(', ');
    throw new HwgenError(`${missing.length === 1 ? 'a tool is' : 'tools are'} not installed or do not run: ${list}; install ${missing.length === 1 ? 'it' : 'them'} (scripts/install-deps.sh does)`);
  }
  return Object.fromEntries(names.map((n) => [n, versions.get(n)!]));
}

/** Runs a tool with an argument array; a failure names the tool, its exit status and the end of what it printed. */
export function runTool(name: ToolName, args: string[], opts: SpawnSyncOptions = {}): string {
  requireTools(name);
  const r = spawnSync(name, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  const out = String(r.stdout ?? '') + String(r.stderr ?? '');
  if (r.error) throw new HwgenError(`${name} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new HwgenError(`${name} failed (exit ${r.status ?? `signal ${r.signal}`}):\n${out.slice(-4000)}`);
  return out;
}

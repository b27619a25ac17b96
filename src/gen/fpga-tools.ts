import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HwgenError } from '../errors.js';
import { probeTool, TOOLS } from '../tools.js';

/**
 * The open FPGA tools a build runs (yosys, nextpnr-ice40, icepack), from one of two places: Debian's programs
 * when all are installed, otherwise the YoWASP WebAssembly builds (optional npm dependencies), so a machine
 * with only Node builds a bitstream. HWGEN_FPGA_TOOLS=wasm forces the WebAssembly ones (a test runs the flow
 * through them where Debian's are installed too), =system forbids them.
 */
export type FpgaTool = 'yosys' | 'nextpnr-ice40' | 'icepack';
export const FPGA_TOOLS_ENV = 'HWGEN_FPGA_TOOLS';

export interface FpgaToolchain {
  /** Where the tools come from: 'system' (Debian's programs) or 'wasm' (@yowasp packages). */
  source: 'system' | 'wasm';
  /** Each tool's version line, for the build's records. */
  versions: Record<FpgaTool, string>;
  /**
   * Runs a tool in `dir` (a flat folder: the tool reads the files there and its new files land there);
   * returns what it printed. A failure is a HwgenError with the end of its output.
   */
  run(tool: FpgaTool, args: string[], dir: string): Promise<string>;
}

const WASM_PACKAGES = { yosys: '@yowasp/yosys', 'nextpnr-ice40': '@yowasp/nextpnr-ice40', icepack: '@yowasp/nextpnr-ice40' } as const;

type Tree = { [name: string]: Tree | string | Uint8Array };
type Command = (args?: string[], files?: Tree, options?: { stdout?: (b: Uint8Array | null) => void; stderr?: (b: Uint8Array | null) => void }) => Promise<Tree> | Tree | undefined;

/** The toolchain the build uses for `tools`: Debian's when all run (unless forced), else the WebAssembly builds. */
export async function fpgaToolchain(tools: FpgaTool[], env: NodeJS.ProcessEnv = process.env): Promise<FpgaToolchain> {
  const want = env[FPGA_TOOLS_ENV] ?? '';
  if (!['', 'auto', 'system', 'wasm'].includes(want)) {
    throw new HwgenError(`${FPGA_TOOLS_ENV}=${want}: give system (Debian's programs), wasm (the @yowasp packages) or leave it unset`, 2);
  }
  const missing: FpgaTool[] = [];
  const versions: Partial<Record<FpgaTool, string>> = {};
  if (want !== 'wasm') {
    for (const t of tools) {
      const version = probeTool(t, env);
      if (version === undefined) missing.push(t);
      else versions[t] = version;
    }
    if (!missing.length) return systemToolchain(versions as Record<FpgaTool, string>, env);
    if (want === 'system') {
      throw new HwgenError(`${FPGA_TOOLS_ENV}=system but ${missing.map((t) => `${t} (Debian package '${TOOLS[t].pkg}')`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed; install ${missing.length > 1 ? 'them' : 'it'} or unset ${FPGA_TOOLS_ENV}`);
    }
  }
  const commands: Partial<Record<FpgaTool, Command>> = {};
  for (const t of tools) {
    const pkg = WASM_PACKAGES[t];
    let mod: { commands: Record<string, Command>; version: string };
    try {
      mod = (await import(pkg)) as typeof mod;
    } catch {
      const system = want === 'wasm' ? '' : ` or Debian's ${missing.map((m) => `'${TOOLS[m].pkg}'`).join(', ')}`;
      throw new HwgenError(`${t} is needed and neither runs here: install the npm package ${pkg} (an optional dependency of hwgen: npm install ${pkg})${system}`);
    }
    commands[t] = mod.commands[t];
    versions[t] = `${pkg} ${mod.version}`;
  }
  return wasmToolchain(commands as Record<FpgaTool, Command>, versions as Record<FpgaTool, string>);
}

function systemToolchain(versions: Record<FpgaTool, string>, env: NodeJS.ProcessEnv): FpgaToolchain {
  return {
    source: 'system',
    versions,
    async run(tool, args, dir) {
      const r = spawnSync(tool, args, { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20, env });
      const out = String(r.stdout ?? '') + String(r.stderr ?? '');
      if (r.error) throw new HwgenError(`${tool} could not run: ${r.error.message}`);
      if (r.signal) throw new HwgenError(`${tool} was interrupted (${r.signal})`, 130);
      if (r.status !== 0) throw new HwgenError(`${tool} failed (exit ${r.status}):\n${tail(out)}`);
      return out;
    },
  };
}

function wasmToolchain(commands: Record<FpgaTool, Command>, versions: Record<FpgaTool, string>): FpgaToolchain {
  return {
    source: 'wasm',
    versions,
    async run(tool, args, dir) {
      // The tools see an in-memory folder: give them every file of `dir`, write back what they made or changed.
      const files: Tree = {};
      for (const name of readdirSync(dir)) if (statSync(join(dir, name)).isFile()) files[name] = new Uint8Array(readFileSync(join(dir, name)));
      const chunks: Uint8Array[] = [];
      const collect = (b: Uint8Array | null) => void (b && chunks.push(b));
      const printed = () => Buffer.concat(chunks).toString('utf8');
      let result: Tree | undefined;
      try {
        result = await commands[tool](args, files, { stdout: collect, stderr: collect });
      } catch (e) {
        // yosys ends with Exit(code); nextpnr's ERROR aborts the module (RuntimeError: unreachable): its output says why.
        const how = e instanceof Error && e.name === 'Exit' ? `exit ${(e as Error & { code: number }).code}` : `${e instanceof Error ? e.message : String(e)}`;
        throw new HwgenError(`${tool} (WebAssembly) failed (${how}):\n${tail(printed())}`);
      }
      for (const [name, data] of Object.entries(result ?? {})) {
        if (typeof data === 'object' && !(data instanceof Uint8Array)) continue; // no tool here makes folders
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        const before = files[name];
        if (before instanceof Uint8Array && Buffer.compare(before, bytes) === 0) continue;
        writeFileSync(join(dir, name), bytes);
      }
      return printed();
    },
  };
}

function tail(out: string): string {
  const errors = out.split('\n').filter((l) => /^ERROR|^Error|error:/i.test(l));
  const end = out.slice(-3000);
  return errors.length && !errors.every((l) => end.includes(l)) ? `${errors.join('\n')}\n…\n${end}` : end;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { faultProxy, type FaultCounts } from '../../host/fault-proxy.js';
import { openTransport } from '../../host/open.js';
import { HWGEN_BIN } from './cli.js';

/**
 * `hwgen` in its own process against a board on a serial cable with a noisy line, from real parts: the board is
 * a sim model behind a socat pty (as a board behind its USB UART), the host end is one side of a socat pty pair,
 * and host/fault-proxy.ts carries the bytes between the pair's other side and the board's pty, faulting them.
 * For the tests and bench/host.
 */

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
  /** Killed after the limit: the command hung. */
  hung: boolean;
  seconds: number;
}

/** The CLI in its own process (not spawnSync: the proxy runs in this one); killed as hung after `limitMs`. */
export function hwgenAsync(cwd: string, args: string[], limitMs: number): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [HWGEN_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    let hung = false;
    const timer = setTimeout(() => ((hung = true), c.kill('SIGKILL')), limitMs);
    c.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err, hung, seconds: (performance.now() - t0) / 1000 })));
  });
}

/** socat with these addresses, once the files it makes exist. */
export async function socat(addresses: string[], makes: string[]): Promise<ChildProcess> {
  const c = spawn('socat', addresses, { stdio: 'ignore' });
  for (let i = 0; i < 250 && !makes.every((p) => existsSync(p)); i++) await new Promise((r) => setTimeout(r, 20));
  if (!makes.every((p) => existsSync(p))) throw new Error(`socat ${addresses.join(' ')} made no ${makes.join(', ')}: is Debian's 'socat' installed?`);
  return c;
}

/**
 * Runs `hwgen ARGS --device serial:HOST` (ARGS without the device) on a fresh board (`model`, the executable of a
 * `hwgen build --target sim` folder) through the proxy at `rate` both ways from `seed`; ptys are made in `dir`.
 */
export async function hwgenThroughFaults(
  dir: string,
  model: string,
  args: string[],
  fault: { seed: number; rate: number; name: string; limitMs?: number },
): Promise<{ run: CliResult; toBoard: FaultCounts; toHost: FaultCounts }> {
  const [board, host, far] = ['board', 'host', 'far'].map((p) => join(dir, `${fault.name}-${p}`));
  const boardSocat = await socat([`pty,raw,echo=0,link=${board}`, `EXEC:${model} +verilator+rand+reset+2`], [board]);
  const pairSocat = await socat([`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${far}`], [host, far]);
  try {
    const proxy = faultProxy(await openTransport(`serial:${far}`), await openTransport(`serial:${board}`), fault);
    try {
      const run = await hwgenAsync(dir, [...args, '--device', `serial:${host}`], fault.limitMs ?? 150_000);
      return { run, toBoard: proxy.toBoard, toHost: proxy.toHost };
    } finally {
      await proxy.close();
    }
  } finally {
    boardSocat.kill();
    pairSocat.kill();
  }
}

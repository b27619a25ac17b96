import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LinkError } from '../link.js';
import type { Transport } from '../transport.js';

/**
 * The Verilator model of a board's shell and engine (sim/harness.cpp), run as a child process: the bytes a
 * board's link carries go to its stdin and come back on its stdout, so the driver speaks to the simulator
 * exactly as to a board. `dir` holds the `model` executable; `args` go to it after the reset options (`--trace
 * w.fst` for a model built with tracing).
 */
export async function openSim(dir: string, args: readonly string[] = []): Promise<Transport> {
  const binary = join(dir, 'model');
  if (!existsSync(binary)) throw new LinkError(`sim:${dir}: no simulator model there (expected ${binary}); build one with hwgen build --target sim`);
  // Registers start random, as on a board after configuration: nothing may depend on an unreset one.
  const child = spawn(binary, ['+verilator+rand+reset+2', '+verilator+seed+1', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let closing = false;
  const closers: ((e: Error) => void)[] = [];
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `the simulator exited (${signal ?? `code ${code}`}) ${stderr.trim()}`.trim();
    if (!closing) closers.forEach((fn) => fn(new Error(exited)));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new LinkError(`sim:${dir}: cannot start ${binary} (${e.message})`)));
  });
  child.stdin.on('error', () => {}); // a write after the model died: its exit says why
  return {
    name: `sim:${dir}`,
    write: (bytes) =>
      new Promise((resolve, reject) => {
        // A write into a model that just died fails (EPIPE, or its input already closed) before its exit is
        // reported: wait a moment for the exit, to say how it ended.
        const failed = () => void exitOf(child, () => exited).then((why) => reject(new Error(why ?? 'the simulator stopped (its input is closed)')));
        if (exited || !child.stdin.writable) return failed();
        child.stdin.write(bytes, (e) => (e ? failed() : resolve()));
      }),
    onData: (fn) => child.stdout.on('data', (b: Buffer) => fn(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
    // A model that exited before anyone listened (a folder whose model is not a board) is reported at once.
    onClose: (fn) => (exited && !closing ? queueMicrotask(() => fn(new Error(exited))) : closers.push(fn)),
    close: async () => {
      closing = true;
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** How the model ended, once its exit is reported (at most a second from now). */
function exitOf(child: ChildProcess, exited: () => string | undefined): Promise<string | undefined> {
  if (exited() || child.exitCode !== null || child.signalCode !== null) return new Promise((r) => setImmediate(() => r(exited())));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(exited()), 1000);
    child.once('exit', () => setImmediate(() => (clearTimeout(timer), resolve(exited()))));
  });
}

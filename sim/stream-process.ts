import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { HwgenError } from '../src/errors.js';
import { harnessFigures } from './verilator.js';

/**
 * A running Verilator model of a word-stream top, spoken to one command at a time over its stdin/stdout — the
 * interactive use of sim/harness.cpp that a simulator transport builds on. Each command's answer is a
 * status word whose low 16 bits count the data words that follow it.
 */
export class StreamProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered = Buffer.alloc(0);
  private waiter?: () => void;
  private exited?: string;
  private stderr = '';
  /** Resolves with the exit code once the process ended and its output streams closed. */
  private readonly closed: Promise<number | null>;

  constructor(binary: string, args: string[] = []) {
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
    this.child.on('exit', (code) => {
      this.exited = `the simulator exited (code ${code}) ${this.stderr.trim()}`;
      this.waiter?.();
    });
  }

  /** Sends one command and resolves to its answer: the status word, then its data words. */
  async command(words: ArrayLike<number>, timeoutMs = 30_000): Promise<Uint32Array> {
    const bytes = Buffer.from(Uint32Array.from(words).buffer);
    this.child.stdin.write(bytes);
    const status = await this.take(1, timeoutMs);
    const data = await this.take(status[0] & 0xffff, timeoutMs);
    const out = new Uint32Array(1 + data.length);
    out[0] = status[0];
    out.set(data, 1);
    return out;
  }

  /** Ends the input and waits for the model to finish; returns the cycles it simulated. */
  async close(): Promise<number> {
    this.child.stdin.end();
    const code = await this.closed;
    if (code !== 0) throw new HwgenError(`the simulator exited with code ${code}: ${this.stderr.trim()}`);
    return harnessFigures(this.stderr).cycles;
  }

  private async take(n: number, timeoutMs: number): Promise<Uint32Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < 4 * n) {
      if (this.exited) throw new HwgenError(this.exited);
      const left = deadline - Date.now();
      if (left <= 0) throw new HwgenError(`the simulator did not answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    const words = new Uint32Array(this.buffered.buffer.slice(this.buffered.byteOffset, this.buffered.byteOffset + 4 * n));
    this.buffered = this.buffered.subarray(4 * n);
    return words;
  }
}

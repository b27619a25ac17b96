/**
 * bench/host: the host driver on the Verilator model of the shell and engine, as a board is driven.
 *   - weight streaming: the largest EIE benchmark layer (Alex-7, 4096 x 4096 at 9%) loaded on a 16-PE engine over
 *     the sim transport (pipes) and over a socat pty through the serialport package: seconds, throughput, and the
 *     payload efficiency (payload bytes / bytes on the wire; the goal is at least 95% for weight streaming);
 *   - the same load with 0.1% and 1% of the bytes dropped, flipped or doubled both ways (stopped after
 *     --fault-seconds, then the full time is estimated from the share loaded);
 *   - Fashion-MNIST: the 10,000 test images through the driver on both default models, every output compared with
 *     the golden model, the accuracy, images per second.
 * Usage: npm run bench -- host [--only stream|faults|fashion] [--pes 16] [--images 10000] [--fault-seconds 120]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boardBundle, runChecked } from '../host/batch.js';
import { Device } from '../host/device.js';
import { openDevice } from '../host/index.js';
import type { LinkStats } from '../host/link.js';
import { openTransport } from '../host/open.js';
import { simDevice, type SimDevice } from '../host/sim-device.js';
import { xnorConfigForBundle } from '../src/engines/xnor/config.js';
import { readAnyBundle } from '../src/model/bundle.js';
import { DEFAULT_MODELS } from '../src/model/default-models.js';
import type { AnyBundle } from '../src/model/types.js';
import { FASHION_MNIST_DIR, loadTestSet } from '../src/train/dataset.js';
import { argmax } from '../src/train/kernels.js';
import { faulty } from '../host/fault-proxy.js';
import { argValue } from './args.js';
import { configFor, LAYERS, oneLayer, randomLayer } from './eie.js';

/** The shell's frame buffer: the default, what an iCE40 build gets. */
const MAX_PAYLOAD_WORDS = 256;
/** A frame cut short by a lost byte is given up after this many clocks without a byte (the default 2^20 is 10 ms at 100 MHz; the simulator runs about 1000 times slower). */
const SIM_IDLE_TIMEOUT = 16384;

export async function benchHost(args: string[]): Promise<void> {
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
  const pes = argValue(args, '--pes', 16);
  const images = argValue(args, '--images', 10000);
  const faultSeconds = argValue(args, '--fault-seconds', 120);
  if (!only || only === 'stream' || only === 'faults') await streaming(pes, only, faultSeconds);
  if (!only || only === 'fashion') await fashion(images);
}

function alex7(pes: number): { bundle: AnyBundle; sim: SimDevice } {
  const [name, cols, rows, density] = LAYERS.find(([n]) => n === 'Alex-7')!;
  const t0 = performance.now();
  const bundle = oneLayer(randomLayer(name, cols, rows, density, pes, 1001), pes);
  const config = configFor([bundle], pes, 8);
  const sim = simDevice(bundle, { config, shell: { maxPayloadWords: MAX_PAYLOAD_WORDS, idleTimeoutCycles: SIM_IDLE_TIMEOUT } });
  const build = sim.build.cached ? 'model from the cache' : `model built in ${sim.build.seconds.toFixed(0)} s`;
  console.log(`Alex-7 ${cols} x ${rows} at ${density * 100}% on ${sim.engine.describe(sim.config)}, frames of ${MAX_PAYLOAD_WORDS} words (${build}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all)`);
  return { bundle, sim };
}

interface LoadFigures {
  seconds: number;
  payloadBytes: number;
  bytesDone: number;
  link: LinkStats;
  stopped: boolean;
}

async function timedLoad(dev: Device, bundle: AnyBundle, limitSeconds = Infinity): Promise<LoadFigures> {
  await dev.info();
  const stop = new AbortController();
  const timer = Number.isFinite(limitSeconds) ? setTimeout(() => stop.abort(), limitSeconds * 1000) : undefined;
  let bytesDone = 0;
  let payloadBytes = 0;
  const t0 = performance.now();
  let stopped = false;
  try {
    const r = await dev.load(bundle, { signal: stop.signal, onProgress: (p) => ((bytesDone = p.bytesDone), (payloadBytes = p.bytesTotal)) });
    payloadBytes = r.payloadBytes;
  } catch (e) {
    if (!stop.signal.aborted) throw e;
    stopped = true;
  } finally {
    clearTimeout(timer);
  }
  return { seconds: (performance.now() - t0) / 1000, payloadBytes, bytesDone, link: { ...dev.linkStats }, stopped };
}

function row(how: string, f: LoadFigures): string[] {
  const share = f.payloadBytes ? f.bytesDone / f.payloadBytes : 0;
  const full = f.stopped ? `~${(f.seconds / share).toFixed(0)} s (est., ${(share * 100).toFixed(1)}% loaded)` : `${f.seconds.toFixed(1)} s`;
  return [
    how, full, `${(f.link.bytesSent / 1e6).toFixed(2)} MB`, `${(f.link.bytesSent / f.seconds / 1e6).toFixed(2)} MB/s`,
    `${((f.link.payloadBytesSent / f.link.bytesSent) * 100).toFixed(2)}%`, String(f.link.retries),
  ];
}

async function streaming(pes: number, only: string | undefined, faultSeconds: number): Promise<void> {
  console.log('\nbench/host: weight streaming');
  const { bundle, sim } = alex7(pes);
  // Each row as it is measured: the fault runs take minutes.
  const rows = { push: (r: string[]) => console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(20) : c.padStart(i === 1 ? 34 : 12))).join('  ')) };
  rows.push(['link', 'load time', 'sent', 'throughput', 'payload eff.', 'retries']);
  let clean: LoadFigures | undefined;
  if (only !== 'faults') {
    const dev = await openDevice(sim.url);
    try {
      clean = await timedLoad(dev, bundle);
      rows.push(row('sim (pipes)', clean));
    } finally {
      await dev.close();
    }
    rows.push(row('serial: socat pty', await overPty(sim, bundle)));
  }
  for (const rate of only === 'stream' ? [] : [0.001, 0.01]) {
    const dev = Device.over(faulty(await openTransport(sim.url), { seed: 1, rate }), { timeoutMs: 100, tries: 40 });
    try {
      rows.push(row(`sim, ${rate * 100}% faults`, await timedLoad(dev, bundle, faultSeconds)));
    } finally {
      await dev.close();
    }
  }
  if (clean) {
    const eff = clean.link.payloadBytesSent / clean.link.bytesSent;
    console.log(`payload efficiency of weight streaming ${(eff * 100).toFixed(2)}%: ${eff >= 0.95 ? 'meets' : 'BELOW'} the 95% goal (${(clean.payloadBytes / 1e6).toFixed(2)} MB of weights and tables)`);
  }
  console.log('throughput = bytes on the wire (frames, retransmissions included) / seconds; payload eff. = payload bytes / bytes on the wire; faults with a 100 ms reply timeout');
}

/** The same model behind a socat pty pair (socat runs it), opened through serialport. */
async function overPty(sim: SimDevice, bundle: AnyBundle): Promise<LoadFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-bench-pty-'));
  const tty = join(dir, 'tty');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${tty}`, `EXEC:${join(sim.dir, 'model')} +verilator+rand+reset+2 +verilator+seed+1`], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 250 && !existsSync(tty); i++) await new Promise((r) => setTimeout(r, 20));
    const dev = await openDevice(`serial:${tty}`);
    try {
      return await timedLoad(dev, bundle);
    } finally {
      await dev.close();
    }
  } finally {
    socat.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fashion(count: number): Promise<void> {
  console.log(`\nbench/host: Fashion-MNIST, ${count} test images through the driver (sim transport)`);
  const test = loadTestSet(FASHION_MNIST_DIR);
  for (const which of ['eie', 'xnor'] as const) {
    const given = readAnyBundle(DEFAULT_MODELS[which]);
    const sim = simDevice(given, given.engine === 'xnor' ? { config: xnorConfigForBundle(given, { bwnLanes: 16 }) } : { pes: 4 });
    const xs = Array.from({ length: count }, (_, n) => sim.engine.quantizeInput(given, test.images.subarray(n * test.pixels, (n + 1) * test.pixels)));
    const dev = await openDevice(sim.url);
    try {
      const t0 = performance.now();
      await dev.load(given);
      const loadSeconds = (performance.now() - t0) / 1000;
      const { engine, bundle } = await boardBundle(dev, given);
      const res = await runChecked(dev, engine, bundle, xs);
      const right = res.outputs.filter((y, n) => argmax(y) === test.labels[n]).length;
      const cycles = res.cycles.reduce((a, b) => a + b, 0) / count;
      console.log(
        `  ${engine.title} ${engine.describe(sim.config)}: ${res.golden.match ? 'every output equals the golden model' : `MISMATCH ${JSON.stringify(res.golden.firstMismatch)}`}; ` +
          `top-1 ${((right / count) * 100).toFixed(2)}%; ${cycles.toFixed(0)} cycles per image; load ${loadSeconds.toFixed(2)} s, ` +
          `${(count / res.seconds).toFixed(0)} images per second under Verilator (${res.seconds.toFixed(0)} s)`,
      );
    } finally {
      await dev.close();
    }
  }
}


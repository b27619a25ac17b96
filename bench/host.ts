/**
 * bench/host: the host driver on the Verilator model of the shell and engine, as a board is driven.
 *   - weight streaming: the largest EIE benchmark layer (Alex-7, 4096 x 4096 at 9%) loaded on a 16-PE engine over
 *     the sim transport (pipes) and over a socat pty through the serialport package: seconds, throughput, and the
 *     payload efficiency (payload bytes / bytes on the wire; the goal is at least 95% for weight streaming);
 *   - the same load with 0.1%, 0.3% and 1% of the bytes dropped, flipped, doubled or delayed both ways (stopped
 *     after --fault-seconds, then the full time is estimated from the share loaded);
 *   - `hwgen run` in its own process with the CLI's defaults on a board behind a pty, through the fault proxy
 *     (host/fault-proxy.ts) between two pty pairs, at 0.1%, 0.3% and 1% both ways over --seeds seeds: wrong or
 *     lost results, hangs, payload efficiency beside the best a frame size can reach at that rate; and how long a
 *     dead far end (a silent serial line, a sim: model that prints garbage or exits) takes to be reported;
 *   - Fashion-MNIST: the 10,000 test images through the driver on both default models, every output compared with
 *     the golden model, the accuracy, images per second.
 * Usage: npm run bench -- host [--only stream|faults|cli-faults|fashion] [--pes 16] [--images 10000] [--fault-seconds 120] [--seeds 3] [--inputs 30]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { compressModel } from '../src/compress/compress.js';
import { encodeBundle } from '../src/model/bundle.js';
import { encodeNpy } from '../src/model/npy.js';
import { DEFAULT_NUMERIC } from '../src/model/types.js';
import { FRAME_OVERHEAD_WORDS } from '../src/protocol/link.js';
import { runHwgen } from '../test/helpers/cli.js';
import { hwgenAsync, hwgenThroughFaults, socat } from '../test/helpers/pty-faults.js';
import { gaussianMatrix, rng } from '../test/helpers/random.js';
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
  if (!only || only === 'cli-faults') await cliFaults(argValue(args, '--seeds', 3), argValue(args, '--inputs', 30));
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
  for (const rate of only === 'stream' ? [] : FAULT_RATES) {
    const dev = Device.over(faulty(await openTransport(sim.url), { seed: 1, rate }), { timeoutMs: 100 });
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
  for (const rate of only === 'stream' ? [] : FAULT_RATES) console.log(`  best payload efficiency at ${rate * 100}% faults: ${boundText(rate)}`);
}

const FAULT_RATES = [0.001, 0.003, 0.01];

/**
 * The best payload efficiency any frame size reaches when `rate` of the bytes are faulted both ways: a frame of
 * n payload words costs n + FRAME_OVERHEAD_WORDS words, and is wasted unless it and its reply (the overhead and
 * one status word) both arrive whole. Of the proxy's four faults, three damage a byte (a delay does not).
 */
export function efficiencyBound(rate: number): { efficiency: number; words: number } {
  const keep = 1 - 0.75 * rate;
  let best = { efficiency: 0, words: 0 };
  for (let n = 1; n <= MAX_PAYLOAD_WORDS; n++) {
    const sent = 4 * (n + FRAME_OVERHEAD_WORDS);
    const efficiency = ((4 * n) / sent) * keep ** (sent + 4 * (FRAME_OVERHEAD_WORDS + 1));
    if (efficiency > best.efficiency) best = { efficiency, words: n };
  }
  return best;
}

function boundText(rate: number): string {
  const b = efficiencyBound(rate);
  return `${(b.efficiency * 100).toFixed(1)}% (frames of ${b.words} words)`;
}

/** A small two-layer EIE network and inputs, built for the sim target by the CLI, as a user does. */
function cliBoard(dir: string, inputs: number): void {
  const r = rng(31);
  const layers = [
    { name: 'fc1', rows: 24, cols: 40, weight: gaussianMatrix(r, 960, 0.3), bias: gaussianMatrix(r, 24, 0.1), relu: true },
    { name: 'fc2', rows: 9, cols: 24, weight: gaussianMatrix(r, 216, 0.3), relu: false },
  ];
  const { bundle } = compressModel({ source: 'bench', layers }, { density: 0.4, bits: 4, sparse: { pes: 2, vBits: 4, zBits: 4 }, numeric: DEFAULT_NUMERIC });
  writeFileSync(join(dir, 'm.hwb'), encodeBundle(bundle));
  writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'f4', shape: [inputs, 40], data: Float32Array.from(gaussianMatrix(r, inputs * 40, 1), Math.abs) }));
  const built = runHwgen(dir, ['build', '--target', 'sim', '--model', 'm.hwb', '-o', 'board']);
  if (built.code !== 0) throw new Error(`hwgen build failed: ${built.err}`);
}

async function cliFaults(seeds: number, inputs: number): Promise<void> {
  console.log(`\nbench/host: hwgen run of ${inputs} inputs with the CLI's defaults, a sim board behind a pty, the fault proxy between two pty pairs, ${seeds} seeds per rate`);
  const dir = mkdtempSync(join(tmpdir(), 'hwgen-bench-faults-'));
  try {
    cliBoard(dir, inputs);
    const cols = ['faults', 'runs ok', 'wrong/lost', 'hung', 'seconds (mean)', 'retries (mean)', 'load eff.', 'run eff.', 'best eff. (frame)'];
    console.log('  ' + cols.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(i === 8 ? 26 : 16))).join(''));
    for (const rate of FAULT_RATES) {
      let ok = 0, wrong = 0, hung = 0, seconds = 0, retries = 0, loadEff = 0, runEff = 0;
      const errors: string[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const name = `r${rate}-s${seed}`;
        const args = ['run', '--model', 'm.hwb', '--input', 'x.npy', '--json'];
        const { run } = await hwgenThroughFaults(dir, join(dir, 'board', 'model'), args, { seed, rate, name, limitMs: 600_000 });
        if (run.hung) {
          hung++;
          continue;
        }
        // A run whose outputs differ from the golden model still prints its JSON, then exits 1.
        const j = run.out.trim() ? JSON.parse(run.out) : undefined;
        if (j && (run.code !== 0 || !j.golden.match || j.inferences !== inputs)) wrong++;
        else if (j) {
          ok++;
          seconds += run.seconds;
          retries += (j.load?.link.retries ?? 0) + j.link.retries;
          loadEff += j.load?.link.payloadEfficiency ?? 0;
          runEff += j.link.payloadEfficiency;
        } else errors.push(run.err.trim());
      }
      const mean = (x: number) => (ok ? x / ok : 0);
      const pct = (x: number) => `${(mean(x) * 100).toFixed(1)}%`;
      const row = [`${rate * 100}%`, `${ok}/${seeds}`, String(wrong), String(hung), mean(seconds).toFixed(1), mean(retries).toFixed(0), pct(loadEff), pct(runEff), boundText(rate)];
      console.log('  ' + row.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(i === 8 ? 26 : 16))).join(''));
      for (const e of errors) console.log(`    failed: ${e}`);
    }
    console.log('  load eff. / run eff. = payload bytes / bytes sent while loading / running (each run loads: the board is fresh); the bound counts a frame and its reply lost when a byte of either is damaged');
    await deadFarEnds(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How long `hwgen info` (CLI defaults) takes to report a far end that is not there, or not a board. */
async function deadFarEnds(dir: string): Promise<void> {
  console.log('\nbench/host: a dead far end, as hwgen info reports it with the CLI defaults');
  const [host, far] = [join(dir, 'dead-host'), join(dir, 'dead-far')];
  const pair = await socat([`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${far}`], [host, far]);
  const cases: [string, string][] = [['serial: a silent line (nothing at the far end)', `serial:${host}`]];
  for (const [what, text] of [['prints garbage', 'while :; do echo garbage; sleep 0.05; done'], ['exits 3', 'exit 3'], ['echoes its input', 'exec cat']]) {
    const d = join(dir, what.replace(/\W+/g, '-'));
    mkdirSync(d);
    writeFileSync(join(d, 'model'), `#!/bin/sh\n${text}\n`, { mode: 0o755 });
    cases.push([`sim: a model that ${what}`, `sim:${d}`]);
  }
  try {
    for (const [what, url] of cases) {
      const r = await hwgenAsync(dir, ['info', '--device', url], 120_000);
      const why = r.hung ? 'HUNG' : r.err.trim().replace(/^hwgen: error: \S+: /, '');
      console.log(`  ${what.padEnd(48)} ${r.seconds.toFixed(1).padStart(5)} s, exit ${r.code}: ${why}`);
    }
  } finally {
    pair.kill();
  }
  console.log('  bound: the reply timeout and 4 s more (4.5 s for serial:, 7 s for sim:); a model that exits or echoes: at once (the seconds include starting node)');
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


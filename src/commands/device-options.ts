import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import type { Device } from '../../host/device.js';
import { DEFAULT_LINK, linkFlags, openDevice } from '../../host/index.js';
import type { LinkStats } from '../../host/link.js';
import { HwgenError } from '../errors.js';
import { readAnyBundle } from '../model/bundle.js';
import { DEFAULT_MODELS } from '../model/default-models.js';
import type { AnyBundle, EngineName } from '../model/types.js';

/** What `hwgen info`, `load` and `run` share: the device, JSON output. */
export interface DeviceArgs {
  device: string;
  json: boolean;
  tries?: string;
  timeout?: string;
}

export function deviceOptions<T>(y: Argv<T>): Argv<T & DeviceArgs> {
  return y
    .option('device', {
      alias: 'd',
      type: 'string',
      demandOption: true,
      describe:
        'the board: serial:/dev/ttyUSB1?baud=3000000, xdma:/dev/xdma0 (the XDMA device prefix), sim:DIR (a folder from hwgen build --target sim), or tcp:HOST:PORT (a bridge or hwgen serve); ' +
        'any takes ?tries=N&timeout=MS for the link',
    })
    .option('tries', { type: 'string', describe: `tries per request before the link gives up (1..1000) [default: the URL's tries=, or ${DEFAULT_LINK.tries}]` })
    .option('timeout', {
      type: 'string',
      describe: `milliseconds to wait for a reply before resending (1..600000); a far end silent for this and 4 s more is a dead link [default: the URL's timeout=, or ${DEFAULT_LINK.timeoutMs} (3000 for sim:)]`,
    })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON (and no progress bar)' }) as unknown as Argv<T & DeviceArgs>;
}

/** Opens the device (with --tries and --timeout), hands it to `fn`, and closes it whatever happens (the link's timers and the port go with it). */
export async function withDevice<T>(args: DeviceArgs, fn: (dev: Device, stop: AbortSignal) => Promise<T>): Promise<T> {
  // The flags win over the URL's parameters, which win over the defaults for the kind of device.
  const dev = await openDevice(args.device, linkFlags(args));
  // Ctrl-C stops the transfer between frames and closes the link, rather than leaving the port half-written.
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(dev, stop.signal);
  } finally {
    process.off('SIGINT', onSigint);
    await dev.close();
  }
}

/** The model to load: the file given, or the package's default model for the board's engine. */
export function modelFor(path: string | undefined, engine: string): { path: string; bundle: AnyBundle } {
  if (path !== undefined) return { path, bundle: readAnyBundle(path) };
  if (!Object.hasOwn(DEFAULT_MODELS, engine)) throw new HwgenError(`the board carries the '${engine}' engine, which has no default model: give one with --model`, 2);
  const p = DEFAULT_MODELS[engine as EngineName];
  return { path: p, bundle: readAnyBundle(p) };
}

/** A progress bar on stderr, or nothing with --json or when stderr is not a terminal. */
export interface Bar {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(json: boolean, what: string, unit: string, scale = 1, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Bar {
  if (json || !stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${what} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`, stream, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      const [d, t] = [Math.round(done / scale), Math.round(total / scale)];
      if (!started) bar.start(t, d);
      else bar.update(d);
      started = true;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** What crossed the link during one step: the figures of the summary. */
export interface LinkSummary {
  bytesSent: number;
  bytesReceived: number;
  seconds: number;
  /** Bytes sent per second. */
  throughput: number;
  /** Payload bytes (what the board needed) / bytes sent (frames, headers, CRCs, resent frames). */
  payloadEfficiency: number;
  retries: number;
  /** Requests (frames) sent, resends not counted. */
  requests: number;
}

export function linkSummary(before: LinkStats, after: LinkStats, seconds: number): LinkSummary {
  const bytesSent = after.bytesSent - before.bytesSent;
  const payload = after.payloadBytesSent - before.payloadBytesSent;
  return {
    bytesSent,
    bytesReceived: after.bytesReceived - before.bytesReceived,
    seconds,
    throughput: seconds > 0 ? bytesSent / seconds : 0,
    payloadEfficiency: bytesSent ? payload / bytesSent : 1,
    retries: after.retries - before.retries,
    requests: after.requests - before.requests,
  };
}

export function linkLine(s: LinkSummary): string {
  return `${s.bytesSent.toLocaleString('en-US')} bytes sent in ${s.requests.toLocaleString('en-US')} requests in ${s.seconds.toFixed(2)} s (${formatRate(s.throughput)}), payload efficiency ${(s.payloadEfficiency * 100).toFixed(1)}%, ${s.retries} retries`;
}

function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`;
  return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
}

export function snapshot(s: LinkStats): LinkStats {
  return { ...s };
}

import { BAUD_RANGE, DEFAULT_BAUD } from '../src/protocol/link.js';
import { LinkError, type LinkOptions } from './link.js';
import type { Transport } from './transport.js';
import { openSerial } from './transports/serial.js';
import { openSim } from './transports/sim.js';
import { openTcp } from './transports/tcp.js';
import { openXdma } from './transports/xdma.js';

/**
 * Device URLs to transports: `serial:/dev/ttyUSB1?baud=3000000`, `xdma:/dev/xdma0`, `sim:DIR` (a simulator
 * model built by `hwgen build --target sim`), `tcp:HOST:PORT` (a bridge serving the link on a socket); any of
 * them takes `tries=N` and `timeout=MS` for the link. A new transport is a module in host/transports/ plus one
 * line here: how to open it, how its URL reads and the parameters it takes.
 */
const TRANSPORTS: Record<string, { open: (path: string, params: URLSearchParams) => Promise<Transport>; form: string; params: string[] }> = {
  serial: { open: (path, params) => openSerial(path, baudOf(params.get('baud'))), form: 'serial:PATH', params: ['baud'] },
  xdma: { open: (path) => openXdma(path), form: 'xdma:PATH', params: [] },
  sim: { open: (path) => openSim(path), form: 'sim:DIR', params: [] },
  tcp: { open: (address) => openTcp(address), form: 'tcp:HOST:PORT', params: [] },
};

/** The link's parameters, which every URL takes: each one's LinkOptions field and its range. */
const LINK_PARAMS = {
  tries: { field: 'tries', min: 1, max: 1000, unit: 'tries per request' },
  timeout: { field: 'timeoutMs', min: 1, max: 600_000, unit: 'milliseconds to wait for a reply before resending' },
} as const;

interface DeviceUrl {
  scheme: string;
  path: string;
  params: URLSearchParams;
}

/** Splits and checks a device URL: a known scheme, and only parameters it (or the link) takes, each once. */
export function parseDeviceUrl(url: string): DeviceUrl {
  const m = /^([a-z]+):(.+?)(?:\?(.*))?$/.exec(url);
  if (!m || !Object.hasOwn(TRANSPORTS, m[1])) {
    throw new LinkError(`device '${url}': expected ${Object.values(TRANSPORTS).map((t) => t.form).join(' or ')} (e.g. serial:/dev/ttyUSB1?baud=${DEFAULT_BAUD})`, 2);
  }
  const params = new URLSearchParams(m[3] ?? '');
  const takes = [...TRANSPORTS[m[1]].params, ...Object.keys(LINK_PARAMS)];
  for (const key of new Set(params.keys())) {
    if (!takes.includes(key)) throw new LinkError(`device '${url}': a ${m[1]}: device takes no '${key}' parameter (it takes ${takes.join(', ')}); leave it out`, 2);
    if (params.getAll(key).length > 1) throw new LinkError(`device '${url}': '${key}' is given more than once; give it once`, 2);
  }
  return { scheme: m[1], path: m[2], params };
}

export async function openTransport(url: string): Promise<Transport> {
  const u = parseDeviceUrl(url);
  return TRANSPORTS[u.scheme].open(u.path, u.params);
}

/**
 * Link options for a device URL: what the kind of device needs beyond the defaults, then the URL's own `tries`
 * and `timeout`. A simulated board runs about a thousand times slower than hardware, so the last of a window of
 * frames is answered long after it was sent: give it time rather than resend frames that are merely queued.
 */
export function linkDefaults(url: string): Partial<LinkOptions> {
  return { ...(parseDeviceUrl(url).scheme === 'sim' ? { timeoutMs: 3000 } : {}), ...linkOptionsOf(url) };
}

/** The URL's own link options (`tries`, `timeout`), checked. */
export function linkOptionsOf(url: string): Partial<LinkOptions> {
  const u = parseDeviceUrl(url);
  const opts: Partial<LinkOptions> = {};
  for (const [key, p] of Object.entries(LINK_PARAMS)) {
    const text = u.params.get(key);
    if (text !== null) opts[p.field] = linkParam(`device '${url}': ${key}=${text}`, text, p);
  }
  return opts;
}

/** `--tries` and `--timeout` of the CLI, checked by the same rules as the URL's. */
export function linkFlags(flags: { tries?: string | number; timeout?: string | number }): Partial<LinkOptions> {
  const opts: Partial<LinkOptions> = {};
  for (const [key, p] of Object.entries(LINK_PARAMS)) {
    const v = flags[key as keyof typeof flags];
    if (v !== undefined) opts[p.field] = linkParam(`--${key} ${v}`, String(v), p);
  }
  return opts;
}

function linkParam(what: string, text: string, p: { min: number; max: number; unit: string }): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < p.min || n > p.max) throw new LinkError(`${what}: give a whole number of ${p.unit} from ${p.min} to ${p.max}`, 2);
  return n;
}

function baudOf(text: string | null): number {
  if (text === null) return DEFAULT_BAUD;
  const baud = Number(text);
  if (!Number.isInteger(baud) || baud < BAUD_RANGE.min || baud > BAUD_RANGE.max) throw new LinkError(`baud=${text}: give a whole number of bits per second from ${BAUD_RANGE.min} to ${BAUD_RANGE.max}`, 2);
  return baud;
}

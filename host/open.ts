import { DEFAULT_BAUD } from '../src/protocol/link.js';
import { LinkError, type LinkOptions } from './link.js';
import type { Transport } from './transport.js';
import { openSerial } from './transports/serial.js';
import { openSim } from './transports/sim.js';
import { openTcp } from './transports/tcp.js';
import { openXdma } from './transports/xdma.js';

/**
 * Device URLs to transports: `serial:/dev/ttyUSB1?baud=3000000`, `xdma:/dev/xdma0`, `sim:DIR` (a simulator
 * model built by `hwgen build --target sim`), `tcp:HOST:PORT` (a bridge serving the link on a socket). A new
 * transport is a module in host/transports/ plus one line here: how to open it and how its URL reads.
 */
const TRANSPORTS: Record<string, { open: (path: string, params: URLSearchParams) => Promise<Transport>; form: string }> = {
  serial: { open: (path, params) => openSerial(path, baudOf(params.get('baud'))), form: 'serial:PATH' },
  xdma: { open: (path) => openXdma(path), form: 'xdma:PATH' },
  sim: { open: (path) => openSim(path), form: 'sim:DIR' },
  tcp: { open: (address) => openTcp(address), form: 'tcp:HOST:PORT' },
};

export async function openTransport(url: string): Promise<Transport> {
  const m = /^([a-z]+):(.+?)(?:\?(.*))?$/.exec(url);
  const kind = m && Object.hasOwn(TRANSPORTS, m[1]) ? TRANSPORTS[m[1]] : undefined;
  if (!m || !kind) {
    throw new LinkError(`device '${url}': expected ${Object.values(TRANSPORTS).map((t) => t.form).join(' or ')} (e.g. serial:/dev/ttyUSB1?baud=${DEFAULT_BAUD})`, 2);
  }
  return kind.open(m[2], new URLSearchParams(m[3] ?? ''));
}

/**
 * Link options a kind of device needs beyond the defaults. A simulated board runs about a thousand times slower
 * than hardware, so the last of a window of frames is answered long after it was sent: give it time rather than
 * resend frames that are merely queued.
 */
export function linkDefaults(url: string): Partial<LinkOptions> {
  return url.startsWith('sim:') ? { timeoutMs: 3000 } : {};
}

function baudOf(text: string | null): number {
  if (text === null) return DEFAULT_BAUD;
  const baud = Number(text);
  if (!Number.isInteger(baud) || baud < 300 || baud > 20_000_000) throw new LinkError(`baud=${text}: give a whole number of bits per second from 300 to 20000000`, 2);
  return baud;
}

import { BAUD_RANGE, DEFAULT_BAUD } from '../src/protocol/link.js';
import { LinkError, type LinkOptions } from './link.js';
import type { Transport } from './transport.js';
import { openSerial } from './transports/serial.js';
import { openSim } from './transports/sim.js';
import { openXdma } from './transports/xdma.js';

/**
 * Device URLs to transports: `serial:/dev/ttyUSB1?baud=3000000`, `xdma:/dev/xdma0`, `sim:DIR` (a simulator
 * model built by `hwgen build --target sim`). A new transport is a
 * module in host/transports/ plus one line here.
 */
const TRANSPORTS: Record<string, (path: string, params: URLSearchParams) => Promise<Transport>> = {
  serial: (path, params) => openSerial(path, baudOf(params.get('baud'))),
  xdma: (path) => openXdma(path),
  sim: (path) => openSim(path),
};

export async function openTransport(url: string): Promise<Transport> {
  const m = /^([a-z]+):(.+?)(?:\?(.*))?$/.exec(url);
  const open = m && Object.hasOwn(TRANSPORTS, m[1]) ? TRANSPORTS[m[1]] : undefined;
  if (!m || !open) {
    throw new LinkError(`device '${url}': expected ${Object.keys(TRANSPORTS).map((s) => `${s}:PATH`).join(' or ')} (e.g. serial:/dev/ttyUSB1?baud=${DEFAULT_BAUD})`, 2);
  }
  return open(m[2], new URLSearchParams(m[3] ?? ''));
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
  if (!Number.isInteger(baud) || baud < BAUD_RANGE.min || baud > BAUD_RANGE.max) throw new LinkError(`baud=${text}: give a whole number of bits per second from ${BAUD_RANGE.min} to ${BAUD_RANGE.max}`, 2);
  return baud;
}

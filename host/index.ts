/**
 * The package's entry point (`import { openDevice } from 'hwgen'`): the host driver for any Node script.
 * Open a board by URL (`serial:/dev/ttyUSB1?baud=3000000`, `xdma:/dev/xdma0`, `sim:DIR`, `tcp:HOST:PORT`), load a bundle, run
 * inputs; docs/driver.md describes the API, the errors and the figures.
 */
import { Device } from './device.js';
import { linkDefaults } from './open.js';

export { Device, VerifyError } from './device.js';
export type { DeviceInfo, LoadOptions, MemoryCheck, RunResult } from './device.js';
export { LinkError, DEFAULT_LINK } from './link.js';
export type { LinkOptions, LinkStats } from './link.js';
export { HwgenError } from '../src/errors.js';
export type { Transport } from './transport.js';
export { openTransport, linkDefaults, linkFlags } from './open.js';
export { faultInjector, faultProxy, faulty } from './fault-proxy.js';
export type { FaultCounts, FaultOptions } from './fault-proxy.js';
export { serveLink } from './serve.js';
export type { Served } from './serve.js';
export { boardBundle, runChecked } from './batch.js';
export type { CheckedRun, CheckedRunOptions } from './batch.js';
export { readAnyBundle, decodeAnyBundle } from '../src/model/bundle.js';
export type { AnyBundle } from '../src/model/types.js';
export { DEFAULT_MODELS } from '../src/model/default-models.js';
export { engineFor } from '../src/engines/registry.js';
export type { AnyEngine } from '../src/engines/engine.js';

/**
 * Opens a board by its URL: `serial:PATH[?baud=N]`, `xdma:PREFIX`, `sim:DIR` or `tcp:HOST:PORT`. Device.open with the link
 * options the kind of device needs (a simulated board gets longer reply timeouts); `opts` override them.
 */
export const openDevice: typeof Device.open = (url, opts) => Device.open(url, { ...linkDefaults(url), ...opts });

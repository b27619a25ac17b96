import { LinkError } from '../link.js';
import type { Transport } from '../transport.js';

/**
 * A serial port (a UART in the board's shell, an FTDI cable on the host), through the npm `serialport`
 * package, loaded only when a serial device is opened so everything else works where its native part does not.
 * The port is locked: a second process opening it gets a clear error.
 */
export async function openSerial(path: string, baudRate: number): Promise<Transport> {
  let mod: typeof import('serialport');
  try {
    mod = await import('serialport');
  } catch (e) {
    throw new LinkError(`serial:${path}: the 'serialport' package does not load here (${(e as Error).message}); reinstall hwgen's dependencies (npm ci)`);
  }
  const port = new mod.SerialPort({ path, baudRate, autoOpen: false, lock: true });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new LinkError(`serial:${path}: cannot open the port (${err.message}); check the device name, its permissions, and that no other program holds it`)) : resolve())),
  );
  let closing = false;
  const closers: ((e: Error) => void)[] = [];
  port.on('close', (err?: Error) => {
    if (!closing) closers.forEach((fn) => fn(err ?? new Error('the port closed')));
  });
  port.on('error', (err: Error) => {
    if (!closing) closers.forEach((fn) => fn(err));
  });
  return {
    name: `serial:${path}`,
    write: (bytes) =>
      new Promise((resolve, reject) => {
        port.write(Buffer.from(bytes), (err) => (err ? reject(err) : resolve()));
      }),
    onData: (fn) => port.on('data', (b: Buffer) => fn(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
    onClose: (fn) => closers.push(fn),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}

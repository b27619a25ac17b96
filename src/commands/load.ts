import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { Device } from '../../host/device.js';
import type { AnyBundle } from '../model/types.js';
import { deviceOptions, linkLine, linkSummary, modelFor, progressBar, snapshot, withDevice, type DeviceArgs, type LinkSummary } from './device-options.js';

interface Args extends DeviceArgs {
  model?: string;
}

export interface LoadSummary {
  model: string;
  frames: number;
  /** The weights and tables as command words, in bytes. */
  payloadBytes: number;
  link: LinkSummary;
  /** Memories (per PE) whose checksum on the board equals the bundle's, after the load (Device.verify). */
  verifiedMemories: number;
}

/**
 * Loads a bundle with a progress bar on a terminal, then proves it: every memory's checksum on the board must
 * equal the bundle's (a VerifyError names the one that differs). The figures of the summary.
 */
export async function loadWithProgress(dev: Device, bundle: AnyBundle, path: string, json: boolean, signal?: AbortSignal): Promise<LoadSummary> {
  const before = snapshot(dev.linkStats);
  const bar = progressBar(json, 'loading', 'kB', 1024);
  try {
    const r = await dev.load(bundle, { signal, onProgress: ({ bytesDone, bytesTotal }) => bar.update(bytesDone, bytesTotal) });
    bar.stop();
    const link = linkSummary(before, dev.linkStats, r.seconds);
    const checks = await dev.verify(bundle);
    return { model: path, frames: r.frames, payloadBytes: r.payloadBytes, link, verifiedMemories: checks.length };
  } finally {
    bar.stop();
  }
}

export function loadText(s: LoadSummary): string {
  return (
    `loaded ${s.model}: ${s.payloadBytes.toLocaleString('en-US')} bytes of weights and tables in ${s.frames} frames, ` +
    `verified (${s.verifiedMemories} memory checksums equal the bundle's)\n  link: ${linkLine(s.link)}\n`
  );
}

export const loadCommand: CommandModule<object, Args> = {
  command: 'load',
  describe: "Stream a bundle's weights to a board (refused before sending when the board's build cannot run it)",
  builder: (y: Argv) =>
    deviceOptions(y).option('model', {
      alias: 'm',
      type: 'string',
      describe: "the bundle (.hwb) [default: the package's model for the board's engine: Fashion-MNIST LeNet-300-100 for EIE, the binarized MLP for XNOR]",
    }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    // A bad model file is refused before the device is opened.
    const given = argv.model !== undefined ? modelFor(argv.model, '') : undefined;
    await withDevice(argv, async (dev, signal) => {
      const { path, bundle } = given ?? modelFor(undefined, (await dev.info()).engine);
      const s = await loadWithProgress(dev, bundle, path, argv.json, signal);
      process.stdout.write(argv.json ? JSON.stringify({ device: argv.device, ...s }, null, 2) + '\n' : loadText(s));
    });
  },
};

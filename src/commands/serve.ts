import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { openTransport } from '../../host/open.js';
import { serveLink } from '../../host/serve.js';
import { parseHostPort } from '../../host/transports/tcp.js';
import { HwgenError } from '../errors.js';

interface ServeArgs {
  device: string;
  listen: string;
}

/** Where `hwgen serve` listens unless told: this machine only, so a board is not put on a network by default. */
export const DEFAULT_LISTEN = '127.0.0.1:7700';

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Serve a board\'s link on a TCP port, so drivers elsewhere reach it as --device tcp:HOST:PORT (one client at a time)',
  builder: (y: Argv) =>
    y
      .option('device', {
        alias: 'd',
        type: 'string',
        demandOption: true,
        describe: 'the board to serve: serial:/dev/ttyUSB1?baud=3000000, xdma:/dev/xdma0, or sim:DIR',
      })
      .option('listen', {
        type: 'string',
        default: DEFAULT_LISTEN,
        describe: 'HOST:PORT to listen on (0.0.0.0:7700 for every network the machine is on; port 0 picks a free one)',
      }) as unknown as Argv<ServeArgs>,
  handler: async (argv: ArgumentsCamelCase<ServeArgs>) => {
    const listen = parseHostPort(argv.listen, `--listen ${argv.listen}`, 0);
    if (argv.device.startsWith('tcp:')) throw new HwgenError(`--device ${argv.device}: that is served already; give the board's own device`, 2);
    const device = await openTransport(argv.device);
    const served = await serveLink(device, listen).catch(async (e: unknown) => {
      await device.close(); // a simulator child would keep the process alive
      throw e;
    });
    process.stdout.write(`serving ${argv.device} at ${served.url} (one client at a time; Ctrl-C stops)\n`);
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const why = await Promise.race([stop.then(() => undefined), served.ended]);
    await served.close();
    if (why) throw new HwgenError(`${argv.device}: the board went away (${why.message}); nothing is served any more`);
  },
};

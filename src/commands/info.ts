import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { deviceOptions, withDevice, type DeviceArgs } from './device-options.js';

export const infoCommand: CommandModule<object, DeviceArgs> = {
  command: 'info',
  describe: "Ask a board for its identity: the engine and config it was built with, its link's frame size and clock",
  builder: (y: Argv) => deviceOptions(y),
  handler: async (argv: ArgumentsCamelCase<DeviceArgs>) => {
    await withDevice(argv, async (dev) => {
      const info = await dev.info();
      const { engineModule: engine, engineConfig: config, ...id } = info;
      if (argv.json) {
        process.stdout.write(JSON.stringify({ device: argv.device, ...id, engineConfig: config }, null, 2) + '\n');
        return;
      }
      const lines = [
        `${argv.device}: ${engine.title} engine ${id.configHash} (${engine.describe(config)})`,
        `  built by hwgen ${id.hwgenVersion}, link protocol version ${id.linkVersion}`,
        `  clock ${(id.clockHz / 1e6).toFixed(2)} MHz, frames of up to ${id.maxPayloadWords} words`,
        `  config ${JSON.stringify(config)}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
  },
};

#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { HwgenError } from './errors.js';
import { HWGEN_VERSION } from './paths.js';
import { compressCommand, compressModeRules } from './commands/compress.js';
import { inspectCommand } from './commands/inspect.js';
import { exportCommand } from './commands/export.js';
import { simCommand, simModeRules } from './commands/sim.js';
import { reportCommand } from './commands/report.js';
import { buildCommand, buildModeRules } from './commands/build.js';
import { infoCommand } from './commands/info.js';
import { loadCommand } from './commands/load.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { imageCommand } from './commands/image.js';
import { refuseInert, refuseRepeated, type ModeRule } from './commands/options.js';
import { trainCommand, trainModeRules } from './commands/train.js';

/** Per command, the options that do nothing in some mode. */
const MODE_RULES: Record<string, ModeRule[]> = { compress: compressModeRules, sim: simModeRules, build: buildModeRules, train: trainModeRules };

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const cli = yargs(argv)
    .scriptName('hwgen')
    .usage('$0 <command> [options]\n\nTurn a compressed neural network into an FPGA accelerator and drive it from Node.')
    .version(HWGEN_VERSION)
    .command(compressCommand)
    .command(inspectCommand)
    .command(exportCommand)
    .command(simCommand)
    .command(reportCommand)
    .command(trainCommand)
    .command(buildCommand)
    .command(infoCommand)
    .command(loadCommand)
    .command(runCommand)
    .command(serveCommand)
    .command(imageCommand)
    .middleware((a) => {
      refuseRepeated(a);
      refuseInert(argv, a, MODE_RULES[String(a._[0])] ?? []);
    }, true)
    .demandCommand(1, 'Give a command; hwgen --help lists them.')
    .strict()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      throw err ?? new HwgenError(`${msg}\nRun 'hwgen --help' (or 'hwgen <command> --help') for the options.`, 2);
    })
    .exitProcess(false)
    .help();
  try {
    await cli.parseAsync();
  } catch (e) {
    code = reportError(e);
  }
  return code;
}

function reportError(e: unknown): number {
  if (e instanceof HwgenError) {
    process.stderr.write(`hwgen: error: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`hwgen: internal error (please report it): ${(e as Error)?.stack ?? e}\n`);
  return 70;
}

// `tsx src/cli.ts ...` runs it directly; bin/hwgen.js imports main().
if (process.argv[1] && /[\\/]src[\\/]cli\.[tj]s$/.test(process.argv[1])) {
  process.exitCode = await main(hideBin(process.argv));
}

import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { buildTarget, type BuildResult } from '../targets/build.js';
import { terminalProgress } from '../targets/progress.js';
import { TARGETS } from '../targets/registry.js';
import { readJson, type ModeRule } from './options.js';

interface Args {
  target: string;
  model?: string;
  config?: string;
  pes?: number;
  fifoDepth?: number;
  entriesPerWord?: number;
  board?: string;
  baud?: number;
  xsa?: boolean;
  uart?: boolean;
  out: string;
  force: boolean;
  json: boolean;
}

export const buildModeRules: ModeRule[] = [
  { option: 'fifo-depth', applies: (a) => a.config === undefined, why: "with --config: the config's fifoDepth sets the queue depth" },
  { option: 'entries-per-word', applies: (a) => a.config === undefined, why: "with --config: the config's entriesPerWord sets the sparse matrix's word" },
];

const boards = Object.values(TARGETS)
  .filter((t) => Object.keys(t.boards).length)
  .map((t) => `${t.name}: ${Object.keys(t.boards).join(', ')}`)
  .join('; ');

export const buildCommand: CommandModule<object, Args> = {
  command: 'build',
  describe: 'Generate the accelerator for a target: the shell and engine RTL, the project files for the board, and a manifest',
  builder: (y: Argv) =>
    y
      .option('target', { alias: 't', type: 'string', demandOption: true, describe: Object.values(TARGETS).map((t) => `${t.name}: ${t.summary}`).join('; ') })
      .option('model', { alias: 'm', type: 'string', describe: "the bundle to build for (.hwb) [default: the package's Fashion-MNIST LeNet-300-100]" })
      .option('config', { type: 'string', describe: 'the engine config (JSON; docs/eie.md, docs/xnor.md) [default: what the model needs]' })
      .option('pes', { type: 'number', describe: "EIE: processing elements [default: the model's]" })
      .conflicts('pes', 'config')
      .option('fifo-depth', { type: 'number', describe: 'EIE: activation queue depth per PE (without --config) [default: 8]' })
      .option('entries-per-word', { type: 'number', describe: 'EIE: sparse entries per memory word, a power of two (without --config) [default: 8]' })
      .option('board', { alias: 'b', type: 'string', describe: `the board${boards ? ` (${boards})` : ''}` })
      .option('baud', { type: 'number', describe: 'UART targets: the link speed in bits per second' })
      .option('xsa', { type: 'boolean', describe: 'zynq: also write the .xsa for Vitis / PetaLinux' })
      .option('uart', { type: 'boolean', describe: 'zynq: drive the shell from a UART on a PMOD instead of the AXI DMA' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'the output folder (new or empty)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an earlier build in the output folder' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON (and no progress)' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const result = await buildTarget({
      target: argv.target,
      model: argv.model,
      build: {
        configFile: argv.config ? { raw: readJson(argv.config), where: argv.config } : undefined,
        pes: argv.pes,
        fifoDepth: argv.fifoDepth,
        entriesPerWord: argv.entriesPerWord,
      },
      board: argv.board,
      options: { baud: argv.baud, xsa: argv.xsa, uart: argv.uart },
      out: argv.out,
      force: argv.force,
      progress: !argv.json && process.stderr.isTTY ? terminalProgress() : undefined,
    });
    process.stdout.write(argv.json ? JSON.stringify({ out: argv.out, ...result }, null, 2) + '\n' : summaryText(result, argv.out));
  },
};

function summaryText(r: BuildResult, out: string): string {
  const m = r.manifest;
  const lines = [`built --target ${m.target}${m.board ? ` --board ${m.board} (${m.part})` : ''} in ${out}: ${m.engine} ${m.configHash}, ${Object.keys(m.files).length} files`];
  if (r.resourcesFrom) lines.push(`  resources by ${r.resourcesFrom}:`);
  for (const [kind, { used, available }] of Object.entries(r.resources ?? {})) {
    lines.push(`  ${kind.padEnd(6)} ${String(used).padStart(7)}${available ? ` of ${available} (${((100 * used) / available).toFixed(1)}%)` : ''}`);
  }
  if (r.throughput) lines.push(`  build  ${r.throughput.build}: ${r.throughput.imagesPerSecond} images/s by the cycle model`);
  if (r.fmaxMHz !== undefined) lines.push(`  Fmax ${r.fmaxMHz.toFixed(1)} MHz`);
  if (r.clockHz !== undefined) lines.push(`  clock ${(r.clockHz / 1e6).toFixed(2)} MHz`);
  if (r.next.length) lines.push('next:', ...r.next.map((c) => `  ${c}`));
  return lines.join('\n') + '\n';
}

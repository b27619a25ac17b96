import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyEngine } from '../engines/engine.js';
import type { ShellConfig } from '../shell/config.js';
import { renderShell, SHELL_TOP } from '../shell/rtl.js';
import { buildModel, type BuiltModel } from '../../sim/verilator.js';
import type { BuildContext, Target } from './target.js';

/**
 * The Verilator model of the shell and engine for a planned build, from the model cache when it holds one:
 * what this target copies into its folder, and what `hwgen sim` drives without an output folder.
 */
export function simModel(engine: AnyEngine, config: object, shell: Partial<ShellConfig> = {}, trace = false): BuiltModel & { files: Map<string, string> } {
  const files = renderShell(engine, config, shell);
  return { ...buildModel({ files, top: SHELL_TOP, stream: 'bytes', trace }), files };
}

/**
 * The board a test or a user without hardware drives: the Verilator model of the shell and engine, reading the
 * link's bytes on stdin and answering on stdout, exactly what a board's UART or DMA carries. `sim:DIR` opens it.
 */
export const simTarget: Target = {
  name: 'sim',
  summary: 'the Verilator model of the shell and engine, for the driver (device sim:DIR)',
  boards: {},
  options: [],
  async build(ctx: BuildContext) {
    ctx.progress.step(`building the Verilator model of ${SHELL_TOP} (${ctx.engine.title}: ${ctx.engine.describe(ctx.config)})`);
    const model = simModel(ctx.engine, ctx.config, ctx.shell);
    mkdirSync(join(ctx.dir, 'rtl'));
    for (const [name, text] of model.files) writeFileSync(join(ctx.dir, 'rtl', name), text);
    copyFileSync(model.binary, join(ctx.dir, 'model'));
    chmodSync(join(ctx.dir, 'model'), 0o755);
    const next = [`hwgen info --device sim:${ctx.outName}`, `hwgen run --device sim:${ctx.outName} --input x.npy`];
    writeFileSync(join(ctx.dir, 'README.md'), readme(ctx));
    return { next };
  },
};

function readme(ctx: BuildContext): string {
  return `# Simulated board: ${ctx.engine.title} (${ctx.engine.describe(ctx.config)})

\`model\` is the Verilator model of the shell (${SHELL_TOP}) and the engine, built from \`rtl/\`. It reads the
link's bytes on stdin and writes the board's replies on stdout: the driver talks to it as to a board.

    hwgen info --device sim:path/to/this/folder
    hwgen load --device sim:path/to/this/folder --model MODEL.hwb
    hwgen run  --device sim:path/to/this/folder --input x.npy

\`manifest.json\` lists every file with its SHA-256, the config and the model this was built for.
`;
}

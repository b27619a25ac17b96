/**
 * The README's quick start as a newcomer runs it: every command of its second block, as written and in order, in
 * a folder that holds what a fresh clone holds (the repository's tracked files; no out/, no dist/), with the
 * installed npm packages. scripts/quickstart.sh runs the same commands after installing the tools (checked here
 * too, so the two cannot drift). The system tools and Debian's Fashion-MNIST must be installed: without them
 * the test fails, as the quick start would.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/model/npy.js';
import { PACKAGE_ROOT } from '../src/paths.js';

const README = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');

/** The commands of the README's quick start: its second sh block, comments dropped. */
function quickStart(): string[] {
  const section = README.slice(README.indexOf('## Quick start'), README.indexOf('\n## ', README.indexOf('## Quick start') + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length, 'the quick start has two sh blocks').toBe(2);
  return commandsOf(blocks[1]);
}

function commandsOf(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
}

const clone = mkdtempSync(join(tmpdir(), 'hwgen-quickstart-'));
afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe("the README's quick start", () => {
  it('scripts/quickstart.sh runs the same commands, after installing the tools', () => {
    const script = commandsOf(readFileSync(join(PACKAGE_ROOT, 'scripts', 'quickstart.sh'), 'utf8')).filter((l) => !/^(set|cd) /.test(l));
    expect(script).toEqual(['bash scripts/install-deps.sh', ...quickStart()]);
  });

  it('runs as written, in order, in a fresh clone', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: PACKAGE_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      if (!existsSync(join(PACKAGE_ROOT, f))) continue; // deleted in the working tree, not yet committed
      mkdirSync(dirname(join(clone, f)), { recursive: true });
      cpSync(join(PACKAGE_ROOT, f), join(clone, f));
    }
    symlinkSync(realpathSync(join(PACKAGE_ROOT, 'node_modules')), join(clone, 'node_modules'));
    expect(existsSync(join(clone, 'out'))).toBe(false);

    const outputs: string[] = [];
    for (const line of quickStart()) {
      const [cmd, ...args] = line.split(/\s+/);
      const r = spawnSync(cmd, args, { cwd: clone, encoding: 'utf8', timeout: 1_200_000, env: { ...process.env, npm_config_yes: 'false' } });
      expect(r.error, line).toBeUndefined();
      expect(r.stderr, line).not.toMatch(/error|\n\s+at /i);
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
      outputs.push(r.stdout);
    }
    const [, , report, images, sim, score, build, run] = outputs;
    expect(report).toMatch(/wrote out\/fashion-mnist-lenet\.html/);
    expect(images).toMatch(/wrote out\/fashion-mnist-8\.npy: the first 8 Fashion-MNIST test images/);
    expect(sim).toMatch(/golden model: bit-exact match/);
    expect(parseNpy(readFileSync(join(clone, 'out', 'fashion-mnist-scores.npy')), 'scores').shape).toEqual([8, 10]);
    expect(score).toMatch(/\d of 8 right; the model's top-1 accuracy on all 10,000 test images: \d+\.\d\d%/);
    expect(build).toMatch(/built --target sim in out\/board/);
    expect(run).toMatch(/ran 8 input\(s\) .*every output equals the golden model/);
  }, 1_800_000);
});

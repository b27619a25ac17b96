/**
 * The package as users install it: packed (which builds dist/ on prepack), installed into an empty folder with
 * production dependencies only (from the npm cache where it has them), and run from there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { encodeNpz } from '../src/model/npz.js';
import { gaussianMatrix, rng } from './helpers/random.js';

const ROOT = join(import.meta.dirname, '..');
let tmp: string;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('npm pack ships the compiled CLI and what it reads; installed with production dependencies only, it runs', () => {
  tmp = mkdtempSync(join(tmpdir(), 'hwgen-pack-'));
  // Pack a copy of the tracked files, so the build (prepack) never leaves a dist/ in this checkout.
  const src = join(tmp, 'src-copy');
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of tracked) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(src, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  const packed = join(tmp, 'packed');
  mkdirSync(packed);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packed], { cwd: src, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = readdirSync(packed).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const listed = execFileSync('tar', ['-tzf', join(packed, tarball!)], { encoding: 'utf8' });
  for (const f of ['package/dist/src/cli.js', 'package/sim/stream_harness.cpp', 'package/hw/hwgen_fifo.v', 'package/templates/eie/eie_top.v.hbs']) {
    expect(listed).toContain(f);
  }
  expect(listed).not.toMatch(/\.test\.(ts|js)/);

  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }');
  execFileSync('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(packed, tarball!)], {
    cwd: app,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  const bin = join(app, 'node_modules', '.bin', 'hwgen');
  const help = spawnSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
  expect(help.stderr).toBe('');
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('hwgen compress');

  const r = rng(3);
  writeFileSync(join(app, 'net.npz'), encodeNpz([{ name: 'fc.weight', array: { dtype: 'f4', shape: [4, 5], data: gaussianMatrix(r, 20, 0.3) } }]));
  const c = spawnSync(bin, ['compress', 'net.npz', '-o', 'net.hwb', '--pes', '2'], { cwd: app, encoding: 'utf8' });
  expect(c.stderr).toBe('');
  expect(c.status).toBe(0);
  expect(existsSync(join(app, 'net.hwb'))).toBe(true);
}, 180_000);

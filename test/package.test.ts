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
  for (const f of ['package/dist/src/cli.js', 'package/dist/host/index.js', 'package/dist/host/index.d.ts', 'package/sim/harness.cpp', 'package/hw/hwgen_fifo.v', 'package/templates/eie/eie_top.v.hbs']) {
    expect(listed).toContain(f);
  }
  expect(listed).not.toMatch(/\.test\.(ts|js)/);

  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }');
  execFileSync('npm', ['install', '--omit=dev', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(packed, tarball!)], {
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

  // The library: `import { openDevice } from 'hwgen'` resolves through the package's exports, in JavaScript...
  const use = `import { openDevice, Device, LinkError, HwgenError, DEFAULT_MODELS, readAnyBundle } from 'hwgen';
const missing = await openDevice('sim:no-such-board').catch((e) => e);
const bundle = readAnyBundle(DEFAULT_MODELS.eie);
console.log(JSON.stringify([typeof Device.open, missing instanceof LinkError, missing instanceof HwgenError, missing.message, bundle.engine]));`;
  writeFileSync(join(app, 'use.mjs'), use);
  const lib = spawnSync(process.execPath, ['use.mjs'], { cwd: app, encoding: 'utf8' });
  expect(lib.stderr).toBe('');
  expect(JSON.parse(lib.stdout)).toEqual(['function', true, true, expect.stringMatching(/sim:no-such-board: no simulator model there/), 'eie']);
  // ... and in TypeScript: the types resolve, and they are real (a wrong call is an error, not an any).
  writeFileSync(join(app, 'use.ts'), `import { openDevice, type Device, type DeviceInfo, type LinkStats, type Transport } from 'hwgen';
export async function main(url: string): Promise<number> {
  const dev: Device = await openDevice(url, { timeoutMs: 1000 });
  const info: DeviceInfo = await dev.info();
  const stats: LinkStats = dev.linkStats;
  const t: Transport | undefined = undefined;
  // @ts-expect-error: run takes the engine's integers, not a string
  await dev.run('pixels');
  const { output, cycles } = await dev.run(info.engineModule.quantizeInput(info.engineModule as never, [0.5]));
  return output.length + cycles + stats.bytesSent + (t ? 1 : 0);
}
`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: ['use.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 180_000);

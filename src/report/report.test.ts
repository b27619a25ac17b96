/**
 * The report as a person sees it: real bundles from `hwgen compress`, a real `hwgen sim` result, the page opened
 * in headless Chromium (Debian's `chromium`, driven by playwright-core). No console error, no request leaving
 * the file, every chart with drawn marks, a screenshot.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHwgen } from '../../test/helpers/cli.js';
import { gaussianMatrix, rng } from '../../test/helpers/random.js';
import { tinyModel } from '../../test/helpers/targets.js';
import { encodeNpy } from '../model/npy.js';
import { encodeNpz } from '../model/npz.js';
import type { NdArray } from '../model/ndarray.js';

const CHROMIUM = process.env.HWGEN_CHROMIUM ?? '/usr/bin/chromium';

let dir: string;
let browser: Browser;
const hwgen = (...args: string[]) => runHwgen(dir, args);

/** A 50-37-11 network, the shape and options test/cli.test.ts simulates, so both share one Verilator build. */
function writeNet(path: string): void {
  const r = rng(12);
  const f4 = (shape: number[], scale: number): NdArray => ({ dtype: 'f4', shape, data: gaussianMatrix(r, shape.reduce((a, b) => a * b), scale) });
  writeFileSync(path, encodeNpz([
    { name: 'fc1.weight', array: f4([37, 50], 0.1) },
    { name: 'fc1.bias', array: f4([37], 0.1) },
    { name: 'fc2.weight', array: f4([11, 37], 0.1) },
    { name: 'fc2.bias', array: f4([11], 0.1) },
  ]));
}
const SIM_CONFIG = { pes: 3, vBits: 4, zBits: 4, actBits: 16, actFrac: 8, weightBits: 16, accBits: 32, fifoDepth: 4, entriesPerWord: 2, spmatWords: 512, ptrDepth: 128, actDepth: 32, biasDepth: 32, maxLayers: 2 };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's 'chromium' package (scripts/install-deps.sh does) or set HWGEN_CHROMIUM to its path`);
  }
  dir = mkdtempSync(join(tmpdir(), 'hwgen-report-'));
  writeNet(join(dir, 'net.npz'));
  const r = rng(3);
  writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'f4', shape: [4, 50], data: Float32Array.from({ length: 200 }, () => (r() < 0.5 ? 0 : r())) }));
  browser = await chromium.launch({ executablePath: CHROMIUM });
});
afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens a page; returns what the browser saw: errors, requests, charts and their drawn marks per mark group. */
async function openInBrowser(html: string, screenshot: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (q) => requests.push(q.url()));
  await page.goto(pathToFileURL(html).href);
  const charts = await page.evaluate(() =>
    Array.from(document.querySelectorAll('figure.chart')).map((fig) => {
      const svg = fig.querySelector('svg');
      const groups = svg ? Array.from(svg.querySelectorAll('g.role-mark')) : [];
      // A mark is drawn when it covers some area (a rule: some length).
      const drawn = groups.map((g) =>
        Array.from(g.children).filter((m) => {
          const b = (m as SVGGraphicsElement).getBBox();
          return g.classList.contains('mark-rule') ? b.width + b.height > 0 : b.width > 0 && b.height > 0;
        }).length,
      );
      const title = svg?.querySelector('.role-title-text')?.textContent ?? '';
      return { title, groups: groups.length, drawn, tables: fig.querySelectorAll('.data table').length };
    }),
  );
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { errors, requests: requests.filter((u) => u !== pathToFileURL(html).href), charts };
}

function expectGoodPage(seen: Awaited<ReturnType<typeof openInBrowser>>, charts: number): void {
  expect(seen.errors).toEqual([]);
  expect(seen.requests).toEqual([]);
  expect(seen.charts).toHaveLength(charts);
  for (const c of seen.charts) {
    expect(c.groups, c.title).toBeGreaterThan(0);
    for (const n of c.drawn) expect(n, c.title).toBeGreaterThan(0);
    expect(c.tables, c.title).toBeGreaterThan(0);
  }
}

describe('hwgen report in a browser', () => {
  it('compress --report: every chart drawn, float weights before sharing shown', async () => {
    const c = hwgen('compress', 'net.npz', '-o', 'net.hwb', '--density', '0.3', '--pes', '4', '--report', 'compress.html');
    expect(c.err).toBe('');
    expect(c.code).toBe(0);
    const html = readFileSync(join(dir, 'compress.html'), 'utf8');
    expect(html.match(/as floats before weight sharing/g)).toHaveLength(2);
    const seen = await openInBrowser(join(dir, 'compress.html'), join(dir, 'compress.png'));
    // Bytes per stage, then per layer: distribution, code lengths, load balance.
    expectGoodPage(seen, 1 + 2 * 3);
    expect(statSync(join(dir, 'compress.png')).size).toBeGreaterThan(10_000);
  });

  it('report with a real sim result and a build folder', async () => {
    expect(hwgen('compress', 'net.npz', '-o', 'sim.hwb', '--density', '0.3', '--pes', '4').code).toBe(0);
    writeFileSync(join(dir, 'c.json'), JSON.stringify(SIM_CONFIG));
    const s = hwgen('sim', 'sim.hwb', '--input', 'x.npy', '--config', 'c.json', '--json');
    expect(s.code, s.err).toBe(0);
    writeFileSync(join(dir, 'sim.json'), s.out);
    const sim = JSON.parse(s.out);
    // a real build folder: the zynq target's, of the model its tests build (yosys's figures come from its cache)
    const b = hwgen('build', '--target', 'zynq', '--model', tinyModel(dir), '-o', 'build');
    expect(b.code, b.err).toBe(0);
    const { LUT } = JSON.parse(readFileSync(join(dir, 'build', 'manifest.json'), 'utf8')).resources;

    const r = hwgen('report', 'sim.hwb', '--sim', 'sim.json', '--input', 'x.npy', '--build', 'build', '-o', 'full.html');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, 'full.html'), 'utf8');
    // The simulation's figures and the build's appear as given.
    const mean = (i: number) => sim.layerCycles.reduce((a: number, c: number[]) => a + c[i], 0) / sim.layerCycles.length;
    for (const i of [0, 1]) expect(html).toContain(`<td class="num">${mean(i).toFixed(1)}</td>`);
    expect(html).toMatch(/efficiency/);
    expect(html).toContain(`<td class="num">${LUT.used}</td><td class="num">${LUT.available}</td>`);
    expect(html).toContain('No Fmax: the figures come from synthesis alone.');
    expect(html).toMatch(/A bundle keeps only the shared weights/);
    const seen = await openInBrowser(join(dir, 'full.html'), join(dir, 'full.png'));
    expectGoodPage(seen, 1 + 2 * 3 + 2);
  }, 300_000); // builds the shell and the engine under Verilator

  it('a binary bundle: thresholds and α per output', async () => {
    const c = hwgen('compress', 'net.npz', '-o', 'bin.hwb', '--binary', '--report', 'binary.html');
    expect(c.err).toBe('');
    expect(c.code).toBe(0);
    const html = readFileSync(join(dir, 'binary.html'), 'utf8');
    expect(html).toContain('Threshold per output');
    expect(html).toContain('α per output');
    const seen = await openInBrowser(join(dir, 'binary.html'), join(dir, 'binary.png'));
    expectGoodPage(seen, 1 + 2);
  });
});

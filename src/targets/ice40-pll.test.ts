import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { choosePll, closestPll, pllSettings } from './ice40-pll.js';

/** icestorm's icepll (Debian's fpga-icestorm) for one request: the achieved clock and its divider settings. */
function icepll(inMHz: number, outMHz: number): { outHz: number; divr: number; divf: number; divq: number; filterRange: number } {
  const r = spawnSync('icepll', ['-i', String(inMHz), '-o', String(outMHz)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const num = (re: RegExp) => Number(re.exec(r.stdout)![1]);
  return {
    outHz: Math.round(num(/F_PLLOUT:\s+([\d.]+) MHz \(achieved\)/) * 1e6),
    divr: num(/DIVR:\s+(\d+)/),
    divf: num(/DIVF:\s+(\d+)/),
    divq: num(/DIVQ:\s+(\d+)/),
    filterRange: num(/FILTER_RANGE:\s+(\d+)/),
  };
}

describe('the iCE40 PLL settings', () => {
  // icepll answers outside the datasheet's 16–275 MHz too (15.938 for 16): the requests stay inside.
  it('reach the same clocks as icepll, with a filter range icepll would choose', () => {
    for (const inMHz of [12, 48]) {
      for (const outMHz of [17, 21.3, 30, 33, 40.7, 48, 60, 71, 96, 100, 133, 200, 270]) {
        const want = icepll(inMHz, outMHz);
        const got = closestPll(inMHz * 1e6, outMHz * 1e6)!;
        expect(Math.abs(got.outHz - want.outHz), `${inMHz} → ${outMHz} MHz`).toBeLessThanOrEqual(1);
        const same = pllSettings(inMHz * 1e6).find((s) => s.divr === want.divr && s.divf === want.divf && s.divq === want.divq);
        expect(same?.filterRange, `${inMHz} → ${outMHz} MHz: icepll's own setting`).toBe(want.filterRange);
      }
    }
  });

  it('choose the fastest clock under the limit that the baud accepts, or the board clock', () => {
    const at3M = (hz: number) => Math.abs(hz / Math.round(hz / 3e6) - 3e6) / 3e6 <= 0.02;
    expect(choosePll(12e6, 41e6, at3M)).toMatchObject({ clockHz: 39.75e6, pll: { divr: 0, divf: 52, divq: 4, filterRange: 1 } });
    // 39.75 MHz makes 3 Mbaud 1.9% fast: within 2%; a limit of 39.7 MHz gives 39 MHz, 13 clocks per bit exactly.
    expect(choosePll(12e6, 39.7e6, at3M)).toMatchObject({ clockHz: 39e6, pll: { divf: 51 } });
    expect(choosePll(12e6, 15e6, at3M)).toEqual({ clockHz: 12e6 });
    expect(choosePll(12e6, 11e6, at3M)).toBeUndefined();
  });
});

import { HwgenError } from '../errors.js';

/** One setting of the iCE40 PLL (SB_PLL40_*, FEEDBACK_PATH "SIMPLE") and the clock it makes. */
export interface PllSetting {
  divr: number;
  divf: number;
  divq: number;
  filterRange: number;
  /** The clock out, in Hz. */
  outHz: number;
}

/** The PLL's limits (iCE40 sysCLOCK PLL, as icestorm's icepll checks them), in MHz. */
export const PLL_LIMITS = { in: [10, 133], pfd: [10, 133], vco: [533, 1066], out: [16, 275] } as const;

/** The loop filter setting for a phase-detector frequency (MHz), as icepll picks it. */
function filterRange(pfdMHz: number): number {
  return pfdMHz < 17 ? 1 : pfdMHz < 26 ? 2 : pfdMHz < 44 ? 3 : pfdMHz < 66 ? 4 : pfdMHz < 101 ? 5 : 6;
}

/**
 * Every clock the PLL makes from `inHz` in simple feedback, the search icepll runs: DIVR divides the input to the
 * phase detector, DIVF + 1 multiplies it up to the VCO, 2^DIVQ divides the VCO down to the output.
 */
export function pllSettings(inHz: number): PllSetting[] {
  const fin = inHz / 1e6;
  const out: PllSetting[] = [];
  if (fin < PLL_LIMITS.in[0] || fin > PLL_LIMITS.in[1]) return out;
  for (let divr = 0; divr <= 15; divr++) {
    const pfd = fin / (divr + 1);
    if (pfd < PLL_LIMITS.pfd[0] || pfd > PLL_LIMITS.pfd[1]) continue;
    for (let divf = 0; divf <= 127; divf++) {
      const vco = pfd * (divf + 1);
      if (vco < PLL_LIMITS.vco[0] || vco > PLL_LIMITS.vco[1]) continue;
      for (let divq = 1; divq <= 6; divq++) {
        const f = vco / 2 ** divq;
        if (f < PLL_LIMITS.out[0] || f > PLL_LIMITS.out[1]) continue;
        out.push({ divr, divf, divq, filterRange: filterRange(pfd), outHz: Math.round(f * 1e6) });
      }
    }
  }
  return out;
}

/** The setting closest to `wantHz` (icepll's answer to `-o`), the first found on a tie. */
export function closestPll(inHz: number, wantHz: number): PllSetting | undefined {
  let best: PllSetting | undefined;
  for (const s of pllSettings(inHz)) if (!best || Math.abs(s.outHz - wantHz) < Math.abs(best.outHz - wantHz)) best = s;
  return best;
}

/**
 * The fastest clock for a design: the highest PLL output at most `limitHz` that `accept` takes (the UART's baud
 * must be within reach), or the board clock itself when no PLL output qualifies and it does. Undefined when
 * neither does.
 */
export function choosePll(inHz: number, limitHz: number, accept: (hz: number) => boolean): { pll?: PllSetting; clockHz: number } | undefined {
  let best: PllSetting | undefined;
  for (const s of pllSettings(inHz)) {
    if (s.outHz > limitHz || !accept(s.outHz)) continue;
    if (!best || s.outHz > best.outHz) best = s;
  }
  if (best && best.outHz > inHz) return { pll: best, clockHz: best.outHz };
  if (inHz <= limitHz && accept(inHz)) return { clockHz: inHz };
  return best ? { pll: best, clockHz: best.outHz } : undefined;
}

export function checkPllInput(inHz: number, board: string): void {
  if (!pllSettings(inHz).length) throw new HwgenError(`board ${board}: its ${inHz / 1e6} MHz clock is outside the PLL's input range ${PLL_LIMITS.in.join('–')} MHz`);
}

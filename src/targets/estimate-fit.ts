/**
 * The coefficients of the resource estimate (estimate.ts): LUT, FF and DSP of each engine's build behind the
 * shell and the AXI top, as a constant plus a coefficient per term of Engine.resourceShape, per Xilinx family and
 * per synthesis mode (builds above FLATTEN_UP_TO_PES are measured hierarchically, and count differently).
 *
 * Fitted (least squares on the relative error) to `yosys synth_xilinx` counts, the rows `npm run bench -- targets`
 * prints and two of the tests' tiny model: EIE, the default LeNet-300-100 at 1, 2, 4, 8, 16 PEs flattened and 16,
 * 32, 64 hierarchical, and the tiny 24-16-10 model at 1 and 2 PEs flattened; XNOR, the default binarized MLP at
 * P = 1..64 rows of S = 64 lanes and the default 4 rows x 32 lanes, 16 BWN lanes (lane = P x S, bwnLane = P x
 * B; the hierarchical rows keep the flattened ones' split between the two).
 * The UltraScale+ rows are the 7-series ones scaled by the ratio of the two families' counts of the same builds
 * (EIE 1 and 64 PEs, XNOR 64 rows). Block RAM is counted, not fitted. Refit when the RTL or yosys changes: the
 * bench prints each row's estimate beside yosys's count and their ratio.
 */
export interface LinearFit {
  const: number;
  per: Record<string, number>;
}

export interface EngineFit {
  LUT: LinearFit;
  FF: LinearFit;
  DSP: LinearFit;
}

export const ESTIMATE_FIT: { tool: string; engines: Record<string, Partial<Record<'xc7' | 'xcup', { flat: EngineFit; hierarchical: EngineFit }>>> } = {
  tool: 'yosys 0.23',
  engines: {
    eie: {
      xc7: {
        flat: { LUT: { const: 1873.6, per: { pe: 228.93, peAddressBits: 27.92 } }, FF: { const: 1431.6, per: { pe: 408.69, peBiasBits: -29.98 } }, DSP: { const: 1, per: { pe: 1 } } },
        hierarchical: { LUT: { const: 3132.4, per: { pe: 761.352 } }, FF: { const: -185.5, per: { pe: 400.486 } }, DSP: { const: 0.7, per: { pe: 1.016 } } },
      },
      xcup: {
        flat: { LUT: { const: 1897.9, per: { pe: 231.91, peAddressBits: 28.28 } }, FF: { const: 1488.9, per: { pe: 425.04, peBiasBits: -31.18 } }, DSP: { const: 1, per: { pe: 1 } } },
        hierarchical: { LUT: { const: 3217.0, per: { pe: 781.909 } }, FF: { const: -216.3, per: { pe: 466.967 } }, DSP: { const: 0.7, per: { pe: 1.016 } } },
      },
    },
    xnor: {
      xc7: {
        flat: { LUT: { const: 2909.8, per: { lane: 4.533, bwnLane: 56.0 } }, FF: { const: 2067.9, per: { lane: 2.544, bwnLane: 12.226 } }, DSP: { const: 1, per: { pe: 1.97 } } },
        hierarchical: { LUT: { const: 2509.8, per: { lane: 5.117, bwnLane: 63.21 } }, FF: { const: 1968.0, per: { lane: 2.613, bwnLane: 12.557 } }, DSP: { const: -0.4, per: { pe: 2.031 } } },
      },
      xcup: {
        flat: { LUT: { const: 3002.9, per: { lane: 4.678, bwnLane: 57.79 } }, FF: { const: 2198.2, per: { lane: 2.704, bwnLane: 12.996 } }, DSP: { const: 1, per: { pe: 1.97 } } },
        hierarchical: { LUT: { const: 2590.1, per: { lane: 5.281, bwnLane: 65.23 } }, FF: { const: 2092.0, per: { lane: 2.778, bwnLane: 13.348 } }, DSP: { const: -0.4, per: { pe: 2.031 } } },
      },
    },
  },
};

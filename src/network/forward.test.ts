import { describe, expect, it } from 'vitest';
import { randInt, rng } from '../../test/helpers/random.js';
import { randomEieSegment, randomHybrid } from '../../test/helpers/networks.js';
import { bundleForward } from '../golden/eie.js';
import { binaryForward } from '../golden/xnor.js';
import { noSaturations } from '../golden/saturation.js';
import { boundaryFor } from '../model/boundary.js';
import { readAnyBundle } from '../model/bundle.js';
import { decodeDenseCodes, layerInputs } from '../model/layout.js';
import type { BinaryBundle, Bundle, NumericFormat } from '../model/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import { join } from 'node:path';
import { networkForward, networkOutput } from './forward.js';

/** A random input for the network's first layer (fixed point for a BWN first layer, bits otherwise). */
function randomInput(r: () => number, x: BinaryBundle): Int32Array {
  const first = x.layers[0];
  const lim = 2 ** (x.numeric.actBits - 1);
  return Int32Array.from({ length: layerInputs(first) }, () => (first.input === 'fixed' ? randInt(r, -lim, lim - 1) : r() < 0.5 ? 1 : 0));
}

describe('the golden model of a network', () => {
  it('is the XNOR segment, then its last map\'s bits as EIE activations 0 or 1 << actFrac, then the EIE segment', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const net = randomHybrid(seed);
      const [x, e] = net.segments as [BinaryBundle, Bundle];
      const r = rng(1000 + seed);
      for (let t = 0; t < 5; t++) {
        const input = randomInput(r, x);
        const outs = networkForward(net, input);
        const bits = binaryForward(x, input);
        expect(outs[0]).toEqual(bits);
        const last = bits[bits.length - 1];
        expect(last.every((b) => b === 0 || b === 1)).toBe(true);
        last.forEach((b) => seen.add(b));
        const acts = Int32Array.from(last, (b) => b * (1 << e.numeric.actFrac));
        expect(outs[1]).toEqual(bundleForward(e, acts));
        expect(networkOutput(net, input)).toEqual(outs[1][outs[1].length - 1]);
      }
    }
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('a one-segment network is its engine\'s forward', () => {
    for (const name of ['fashion-mnist-lenet.hwb', 'fashion-mnist-bmlp.hwb']) {
      const b = readAnyBundle(join(PACKAGE_ROOT, 'models', name));
      const r = rng(3);
      const lim = 2 ** (b.numeric.actBits - 1);
      const input = Int32Array.from({ length: 784 }, () => randInt(r, 0, lim - 1));
      const golden = b.engine === 'eie' ? bundleForward(b, input) : binaryForward(b, input);
      expect(networkForward({ segments: [b] }, input)).toEqual([golden]);
    }
  });

  it('counts saturations per segment and layer', () => {
    const net = randomHybrid(4);
    const sat = net.segments.map((s) => s.layers.map(() => noSaturations()));
    const r = rng(9);
    networkForward(net, randomInput(r, net.segments[0] as BinaryBundle), sat);
    expect(sat.map((s) => s.length)).toEqual(net.segments.map((s) => s.layers.length));
  });

  it('the boundary\'s 0 / 1.0 is what the compress-time fold needs: W·(2b − 1) + c = 2W·b + (c − W·1), bit for bit', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      // wide accumulator and codebook so neither side saturates where the other does not
      const numeric: NumericFormat = { actBits: 16, actFrac: randInt(r, 0, 14), weightBits: 16, accBits: 48 };
      const cols = randInt(r, 1, 40);
      const signedNet = randomEieSegment(r, cols, numeric, { pes: randInt(r, 1, 4), vBits: 4, zBits: randInt(r, 1, 4) });
      const first = signedNet.layers[0];
      const one = 2 ** numeric.actFrac;
      const w = decodeDenseCodes(first);
      const folded: Bundle = {
        ...signedNet,
        layers: [
          { ...first, codebook: first.codebook.map((v) => 2 * v), bias: first.bias.map((c, i) => c - w.subarray(i * cols, (i + 1) * cols).reduce((a, x) => a + x * one, 0)) },
          ...signedNet.layers.slice(1),
        ],
      };
      const binary: BinaryBundle = { engine: 'xnor', numeric, meta: {}, layers: [] };
      const boundary = boundaryFor(binary, folded, 'test');
      for (let t = 0; t < 5; t++) {
        const bits = Int32Array.from({ length: cols }, () => (r() < 0.5 ? 1 : 0));
        const signedIn = Int32Array.from(bits, (b) => (2 * b - 1) * one);
        expect(bundleForward(folded, boundary.convert(binary, folded, bits))).toEqual(bundleForward(signedNet, signedIn));
      }
    }
  });
});

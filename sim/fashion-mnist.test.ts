import { describe, expect, it } from 'vitest';
import { fashionMnistDir } from '../test/helpers/fashion-mnist.js';
import { engineFor } from '../src/engines/registry.js';
import { readAnyBundle } from '../src/model/bundle.js';
import { DEFAULT_MODELS } from '../src/model/default-models.js';
import { xnorConfigForBundle } from '../src/engines/xnor/config.js';
import type { AnyBundle } from '../src/model/types.js';
import { loadTestSet } from '../src/train/dataset.js';
import { argmax } from '../src/train/kernels.js';
import { accuracyFromMeta } from '../src/train/recipes.js';
import type { BuildOptions } from '../src/engines/engine.js';
import { runChecked } from '../host/batch.js';
import { openDevice } from '../host/index.js';
import { simDevice } from '../host/sim-device.js';

/**
 * The committed, trained models on the generated engines under Verilator, through the host driver as a board is
 * driven: the sim target's model of shell and engine, opened as a `sim:` device, the bundle loaded over the
 * link protocol, the first 1,000 Fashion-MNIST test images run in batches, every output equal to the golden
 * model's, and the accuracy the RTL's own outputs give. The floors sit a little under what the models score on
 * all 10,000 images (their meta records it), so a model or an engine that loses the signal fails here.
 * bench/host runs all 10,000 through the driver.
 */
const IMAGES = 1000;
/** The stored LeNet bundle is one PE's CSC; the engine under test interleaves it over 4 PEs. */
const EIE_PES = 4;
/** 16 BWN lanes: the 784-pixel first layer in 49 folds per row instead of 196, a quarter of the cycles. */
const BWN_LANES = 16;

async function run(given: AnyBundle, build: BuildOptions) {
  const test = loadTestSet(fashionMnistDir());
  const sim = simDevice(given, build);
  const engine = sim.engine;
  const xs = Array.from({ length: IMAGES }, (_, n) => engine.quantizeInput(given, test.images.subarray(n * test.pixels, (n + 1) * test.pixels)));
  const dev = await openDevice(sim.url);
  try {
    await dev.load(given);
    const res = await runChecked(dev, engine, sim.bundle, xs);
    expect(res.golden.firstMismatch).toBeUndefined();
    expect(res.golden.match).toBe(true);
    expect(res.outputs.length).toBe(IMAGES);
    const right = res.outputs.filter((y, n) => argmax(y) === test.labels[n]).length;
    const cycles = res.cycles.reduce((a, b) => a + b, 0) / IMAGES;
    return { accuracy: right / IMAGES, cycles, recorded: accuracyFromMeta(given.meta).quantized, seconds: res.seconds };
  } finally {
    await dev.close();
  }
}

describe('Fashion-MNIST on the generated engines', () => {
  it('LeNet-300-100 after Deep Compression, on a 4-PE EIE engine behind the shell: 1,000 test images bit-exact, accuracy >= 87%', async () => {
    const bundle = readAnyBundle(DEFAULT_MODELS.eie);
    expect(bundle.engine).toBe('eie');
    const r = await run(bundle, { pes: EIE_PES });
    console.log(`EIE, Fashion-MNIST LeNet-300-100: ${(r.accuracy * 100).toFixed(1)}% on ${IMAGES} test images (${(r.recorded * 100).toFixed(2)}% on 10,000 by the golden model), ${r.cycles.toFixed(0)} cycles per image, ${(IMAGES / r.seconds).toFixed(0)} images per second through the driver`);
    // The golden model's outputs are the RTL's (checked above): its recorded accuracy on all 10,000 is what these 1,000 sample.
    expect(Math.abs(r.accuracy - r.recorded)).toBeLessThan(0.03);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.87);
  });

  it('binarized MLP 784-256-256-10 on the XNOR units behind the shell: 1,000 test images bit-exact, accuracy >= 85%', async () => {
    const bundle = readAnyBundle(DEFAULT_MODELS.xnor);
    if (bundle.engine !== 'xnor') throw new Error(`${DEFAULT_MODELS.xnor} is not a binary bundle`);
    const r = await run(bundle, { config: xnorConfigForBundle(bundle, { bwnLanes: BWN_LANES }) });
    console.log(`XNOR, Fashion-MNIST binarized MLP: ${(r.accuracy * 100).toFixed(1)}% on ${IMAGES} test images (${(r.recorded * 100).toFixed(2)}% on 10,000 by the golden model), ${r.cycles.toFixed(0)} cycles per image, ${(IMAGES / r.seconds).toFixed(0)} images per second through the driver`);
    // The golden model's outputs are the RTL's (checked above): its recorded accuracy on all 10,000 is what these 1,000 sample.
    expect(Math.abs(r.accuracy - r.recorded)).toBeLessThan(0.03);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.85);
  });
});

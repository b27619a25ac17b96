import { HwgenError } from '../../errors.js';
import { binaryReport, formatBinaryReport } from '../../compress/binarize.js';
import { quantizeInput } from '../../golden/eie.js';
import { binaryForward } from '../../golden/xnor.js';
import { segmentInputs, segmentOutputs } from '../../model/bundle.js';
import type { BinaryBundle } from '../../model/types.js';
import { XNOR_STATS_FIELDS } from '../../protocol/command-set.js';
import { engineReport, type Engine } from '../engine.js';
import { XNOR_CONFIG_KEYS, XNOR_CONFIG_LIMITS, checkXnorFits, xnorGeometry, validateXnorConfig, xnorConfigForBundle, xnorConfigHash, type XnorConfig } from './config.js';
import { xnorExportArrays } from './export.js';
import { xnorDecodeOutput, xnorInputCommands, xnorLoadCommands, xnorReadCommands } from './image.js';
import { renderXnor, xnorMemories, xnorResourceShape } from './rtl.js';

/** The XNOR units (docs/xnor.md): binary (and BWN) layers as XNOR + popcount over P rows × S lanes. */
export const xnorEngine: Engine<BinaryBundle, XnorConfig> = {
  name: 'xnor',
  title: 'XNOR',
  top: 'xnor_top',
  configKeys: XNOR_CONFIG_KEYS,
  validateConfig: validateXnorConfig,
  plan(bundle, opts) {
    if (opts.pes !== undefined) throw new HwgenError('--pes applies to EIE bundles; this bundle is binary: give the XNOR build with --config (docs/xnor.md)', 2);
    const file = opts.configFile;
    const config = opts.config ?? (file ? validateXnorConfig(file.raw, file.where) : xnorConfigForBundle(bundle));
    checkXnorFits(bundle, config, file?.where ?? (opts.config ? 'config' : 'derived config'));
    return { bundle, config };
  },
  configHash: xnorConfigHash,
  pes: (c) => c.pe,
  maxPes: XNOR_CONFIG_LIMITS.pe[1],
  withPes(bundle, c, n) {
    if (c.simd % n !== 0) return undefined;
    const config = xnorConfigForBundle(bundle, { pe: n, simd: c.simd, bwnLanes: c.bwnLanes });
    checkXnorFits(bundle, config, 'derived config');
    return { bundle, config };
  },
  describe: (c) => `${c.pe} rows x ${c.simd} lanes`,
  render: renderXnor,
  resourceShape: xnorResourceShape,
  // A fold per clock: every output position of every group of P rows takes the layer's folds.
  cycleModel: (bundle, c) => xnorGeometry(bundle, c.pe, c.simd, c.bwnLanes || 1).reduce((s, g) => s + g.positions * g.groups * g.folds, 0),
  memories: xnorMemories,
  loadCommands: xnorLoadCommands,
  inputCommands: xnorInputCommands,
  readCommands: xnorReadCommands,
  decodeOutput: xnorDecodeOutput,
  statsFields: XNOR_STATS_FIELDS,
  layerSlots: (c) => xnorMemories(c).layerSlots,
  input: (bundle) => ({ length: segmentInputs(bundle), image: bundle.layers[0].conv }),
  outputLength: segmentOutputs,
  quantizeInput: (bundle, x, sat) =>
    bundle.layers[0].input === 'fixed' ? quantizeInput(x, bundle.numeric, sat) : Int32Array.from(x, (v) => (v >= 0 ? 1 : 0)),
  forward: binaryForward,
  outputValue(bundle) {
    const scores = bundle.layers[bundle.layers.length - 1].output === 'scores';
    return (q) => (scores ? q / 2 ** bundle.numeric.actFrac : q ? 1 : -1);
  },
  exportArrays: xnorExportArrays,
  report(bundle) {
    const report = binaryReport(bundle);
    return engineReport(bundle, report, formatBinaryReport(report), 'alpha', 'score bias');
  },
};

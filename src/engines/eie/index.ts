import { reencodeForPes } from '../../compress/reencode.js';
import { bundleReport, formatReport } from '../../compress/report.js';
import { bundleForward, quantizeInput } from '../../golden/eie.js';
import { segmentInputs, segmentOutputs } from '../../model/bundle.js';
import { LIMITS, checkRange } from '../../model/limits.js';
import type { Bundle } from '../../model/types.js';
import { STATS_FIELDS } from '../../protocol/command-set.js';
import { engineReport, type Engine } from '../engine.js';
import { CONFIG_KEYS, checkBundleFits, configForBundle, configHash, validateConfig, type EieConfig } from './config.js';
import { eieExportArrays } from './export.js';
import { inputCommands, loadCommands, readCommands } from './image.js';
import { eieMemories, eieResourceShape, renderEie } from './rtl.js';

/** The EIE engine (docs/eie.md): sparse, codebook-compressed layers over N PEs. */
export const eieEngine: Engine<Bundle, EieConfig> = {
  name: 'eie',
  title: 'EIE',
  top: 'eie_top',
  configKeys: CONFIG_KEYS,
  validateConfig,
  plan(bundle, opts) {
    if (opts.pes !== undefined) {
      checkRange('pes', opts.pes, '--pes');
      bundle = reencodeForPes(bundle, opts.pes);
    }
    const file = opts.configFile;
    const config = opts.config ?? (file ? validateConfig(file.raw, file.where) : configForBundle(bundle, { fifoDepth: opts.fifoDepth, entriesPerWord: opts.entriesPerWord, part: opts.part }));
    bundle = reencodeForPes(bundle, config.pes);
    checkBundleFits(bundle, config, file?.where ?? (opts.config ? 'config' : 'derived config'));
    return { bundle, config };
  },
  configHash,
  pes: (c) => c.pes,
  maxPes: LIMITS.pes[1],
  withPes(bundle, c, n, part) {
    return eieEngine.plan(bundle, { pes: n, fifoDepth: c.fifoDepth, ...(part ? { part } : { entriesPerWord: c.entriesPerWord }) });
  },
  describe: (c) => `${c.pes} PEs, queue depth ${c.fifoDepth}`,
  render: renderEie,
  resourceShape: eieResourceShape,
  // The slower of the broadcasts (a column each) and the busiest PE's entries, layer by layer.
  cycleModel: (bundle) => bundle.layers.reduce((s, l) => s + Math.max(l.cols, ...l.slices.map((p) => p.v.length)), 0),
  memories: eieMemories,
  loadCommands,
  inputCommands: (_bundle, x, c) => inputCommands(x, c),
  readCommands: (bundle, c) => readCommands(bundle.layers[bundle.layers.length - 1].rows, c),
  decodeOutput: (bundle, _c, words) => Int32Array.from(words.subarray(0, bundle.layers[bundle.layers.length - 1].rows), (w) => w | 0),
  statsFields: STATS_FIELDS,
  layerSlots: (c) => eieMemories(c).layerSlots,
  input: (bundle) => ({ length: segmentInputs(bundle) }),
  outputLength: segmentOutputs,
  quantizeInput: (bundle, x, sat) => quantizeInput(x, bundle.numeric, sat),
  forward: bundleForward,
  outputValue: (bundle) => (q) => q / 2 ** bundle.numeric.actFrac,
  exportArrays: eieExportArrays,
  report(bundle) {
    const report = bundleReport(bundle);
    return engineReport(bundle, report, formatReport(report), 'codebook', 'accumulator');
  },
};

import type { AnyBundle, NumericFormat, SparseFormat } from '../model/types.js';
import { DEFAULT_NUMERIC } from '../model/types.js';
import { HWGEN_VERSION } from '../paths.js';
import { BMLP_784_256_256_10, trainBinaryMlp } from './binary-mlp.js';
import type { Dataset } from './dataset.js';
import { deepCompress, LENET_300_100, pct } from './deep-compression.js';

/**
 * The two trainings `hwgen train` runs and bench/fashion-mnist reproduces, with their defaults in one place:
 * the committed models under models/ are `hwgen train` with these defaults and seed 1.
 */
export const DEFAULT_SEED = 1;
/**
 * LeNet's bundle is stored as one PE's CSC (the paper's form: one column pointer per column, not one per PE) with
 * 6-bit relative indices (at 8% density, 4 bits would pad a third more entries); `hwgen sim --pes N` re-interleaves
 * it for the engine it builds.
 */
export const LENET_SPARSE: SparseFormat = { pes: 1, vBits: 4, zBits: 6 };

export interface TrainRequest {
  binary: boolean;
  seed: number;
  /** Hidden layer sizes (input and output sizes come from the data). */
  hidden?: number[];
  /** EIE: final density per layer. */
  density?: number[];
  /** Epochs of float (or binary) training; EIE also per pruning stage (one value per stage) and of centroid fine-tuning. */
  epochs?: number;
  pruneEpochs?: number[];
  shareEpochs?: number;
  bits?: number;
  sparse?: SparseFormat;
  numeric?: NumericFormat;
  log?: (line: string) => void;
}

export interface TrainOutcome {
  bundle: AnyBundle;
  /** Top-1 test accuracy per stage, the last one the golden model's. */
  accuracy: Record<string, number>;
  seconds: number;
}

export function trainModel(data: Dataset, r: TrainRequest): TrainOutcome {
  const numeric = r.numeric ?? DEFAULT_NUMERIC;
  const io = (hidden: number[]) => [data.train.pixels, ...hidden, data.train.classes];
  if (r.binary) {
    const d = BMLP_784_256_256_10;
    const sizes = io(r.hidden ?? d.sizes.slice(1, -1));
    const res = trainBinaryMlp(data, { ...d, sizes, seed: r.seed, epochs: r.epochs ?? d.epochs, numeric, log: r.log });
    res.bundle.meta = meta(`binary MLP ${sizes.join('-')}`, r.seed, res.accuracy);
    return { bundle: res.bundle, accuracy: res.accuracy, seconds: res.seconds };
  }
  const d = LENET_300_100;
  const sizes = io(r.hidden ?? d.sizes.slice(1, -1));
  const res = deepCompress(data, {
    ...d,
    sizes,
    density: r.density ?? d.density,
    epochs: { float: r.epochs ?? d.epochs.float, prune: r.pruneEpochs ?? d.epochs.prune, share: r.shareEpochs ?? d.epochs.share },
    bits: r.bits ?? d.bits,
    seed: r.seed,
    sparse: r.sparse ?? LENET_SPARSE,
    numeric,
    log: r.log,
  });
  res.bundle.meta = meta(`MLP ${sizes.join('-')}, Deep Compression with retraining`, r.seed, res.accuracy);
  return { bundle: res.bundle, accuracy: res.accuracy, seconds: res.seconds.total };
}

/** What the bundle says of its training; the accuracies (not the time) so that one seed gives one file. */
function meta(what: string, seed: number, accuracy: Record<string, number>): Record<string, string | number> {
  const m: Record<string, string | number> = { source: `hwgen train: ${what}, seed ${seed}`, generator: `hwgen ${HWGEN_VERSION}` };
  for (const [stage, a] of Object.entries(accuracy)) m[`${ACCURACY_META}${stage}`] = a;
  return m;
}

/** Prefix of the meta keys that hold the top-1 test accuracy of each stage. */
export const ACCURACY_META = 'testAccuracy.';

/** The stage accuracies a trained bundle's meta records. */
export function accuracyFromMeta(meta: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(meta)) if (k.startsWith(ACCURACY_META) && typeof v === 'number') out[k.slice(ACCURACY_META.length)] = v;
  return out;
}

/** The stages in the order they happen (a bundle's meta keeps its keys sorted). */
const STAGES = ['float', 'pruned', 'shared', 'quantized'];

/** One line per stage: "float 89.10%, pruned 89.20%, ...". */
export function formatAccuracy(a: Record<string, number>): string {
  const rank = (k: string) => (STAGES.includes(k) ? STAGES.indexOf(k) : STAGES.length);
  return Object.keys(a)
    .sort((x, y) => rank(x) - rank(y))
    .map((k) => `${k} ${pct(a[k])}`)
    .join(', ');
}

/** A stage that loses more test accuracy than this (a fraction, absolute) is worth a warning. */
export const ACCURACY_LOSS_WARNING = 0.05;

/** What to change when a stage loses accuracy, by the stage that lost it. */
const LOSS_HINT: Record<string, string> = {
  pruned: 'retrain more after pruning (--prune-epochs) or keep more weights (--density)',
  shared: 'fine-tune the centroids longer (--share-epochs) or give more of them (--bits)',
  quantized: "the hardware's fixed-point arithmetic loses it: 'hwgen compress' of the exported weights reports where it saturates",
};

/** One line per stage that lost more than ACCURACY_LOSS_WARNING against the stage before it, with what to change. */
export function accuracyLosses(a: Record<string, number>): string[] {
  const stages = STAGES.filter((s) => a[s] !== undefined);
  const out: string[] = [];
  for (let i = 1; i < stages.length; i++) {
    const [before, after] = [a[stages[i - 1]], a[stages[i]]];
    if (before - after > ACCURACY_LOSS_WARNING) {
      out.push(`the ${stages[i]} stage lost ${((before - after) * 100).toFixed(1)} points of top-1 test accuracy (${stages[i - 1]} ${pct(before)}, ${stages[i]} ${pct(after)}); ${LOSS_HINT[stages[i]]}`);
    }
  }
  return out;
}

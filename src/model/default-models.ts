import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';

/**
 * The trained models that ship with the package (models/README.md says how they were made): what `hwgen build`
 * and `hwgen run` use when no model is given. They take Fashion-MNIST images as pixels / 255, float32 [n, 784].
 */
export const DEFAULT_MODELS = {
  /** LeNet-300-100 after Deep Compression with retraining, for the EIE engine. */
  eie: join(PACKAGE_ROOT, 'models', 'fashion-mnist-lenet.hwb'),
  /** A binarized MLP 784-256-256-10 (BWN first layer) for the XNOR units. */
  xnor: join(PACKAGE_ROOT, 'models', 'fashion-mnist-bmlp.hwb'),
} as const;

export const DEFAULT_MODEL = DEFAULT_MODELS.eie;

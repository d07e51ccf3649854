import type * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { TypedConfig } from '../registry/types.js';
import { assertTrainableModel } from '../runner/assert-model.js';
import type { TrainableModel } from '../runner/model.js';
import type { ImageTransform } from './detect-image.js';

/**
 * The config's detector with `weights` loaded strictly (names, shapes, dtypes), in eval mode:
 * ready for `detectImage`. The caller keeps ownership of `weights` (loading copies them); a
 * failed load frees the detector.
 */
export async function buildDetector(registry: Registry, model: TypedConfig, weights: Map<string, tf.Tensor>, source: string): Promise<TrainableModel> {
  const detector = await registry.build<TrainableModel>('detector', model);
  assertTrainableModel(detector, model.type);
  try {
    detector.loadStateDict(weights, { strict: true, source });
  } catch (e) {
    detector.dispose(); // its freshly initialised parameters
    throw e;
  }
  detector.eval();
  return detector;
}

/** Validation transforms (`data.valTransforms`) built through the registry, as the loader builds them. */
export async function buildTransforms(registry: Registry, configs: readonly TypedConfig[] = []): Promise<ImageTransform[]> {
  const out: ImageTransform[] = [];
  for (const [i, config] of configs.entries()) {
    const t = await registry.build<ImageTransform>('transform', config);
    if (typeof t?.apply !== 'function') throw new DetkitError('MODEL_CONTRACT', `transform '${config.type}' (valTransforms[${i}]) did not return a Transform ({ type, apply })`);
    out.push(t);
  }
  return out;
}

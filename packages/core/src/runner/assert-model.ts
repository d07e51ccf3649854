import { DetkitError } from '../errors.js';
import type { TrainableModel } from './model.js';

/** Fails with MODEL_CONTRACT naming the detector type when a factory did not return a TrainableModel. */
export function assertTrainableModel(model: unknown, type: string): asserts model is TrainableModel {
  const m = model as Partial<TrainableModel> | undefined;
  const missing = (['forwardTrain', 'predict', 'namedParameters'] as const).filter((k) => typeof m?.[k] !== 'function');
  if (missing.length > 0) {
    throw new DetkitError('MODEL_CONTRACT', `detector '${type}' did not return a TrainableModel: missing ${missing.join(', ')}`);
  }
}

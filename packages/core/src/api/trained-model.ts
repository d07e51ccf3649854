import { resolve } from 'node:path';
import { loadModelWeights } from '../checkpoint/checkpoint.js';
import { buildModel } from '../config/build-run.js';
import type { Session } from '../cli/session.js';
import { buildDetector } from '../inference/build-detector.js';
import type { TrainableModel } from '../runner/model.js';

/**
 * The session's detector in eval mode, with `checkpoint`'s weights loaded strictly (a failed load
 * frees the model), or freshly initialised with a warning (`noCheckpointWarning`) when none is given.
 * What `loadDetector` and `detkit predict` both start from.
 */
export async function trainedModel(session: Session, checkpoint: string | undefined, noCheckpointWarning: string): Promise<TrainableModel> {
  const { config } = session.loaded;
  if (checkpoint === undefined) {
    session.logger.warn(noCheckpointWarning);
    const model = await buildModel(config, session.registry);
    model.eval();
    return model;
  }
  const weights = await loadModelWeights(resolve(checkpoint));
  try {
    const model = await buildDetector(session.registry, config.model, weights, checkpoint);
    session.logger.info(`loaded ${weights.size} tensors from ${checkpoint}`);
    return model;
  } finally {
    weights.forEach((t) => t.dispose());
  }
}

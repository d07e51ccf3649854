import { buildLoader } from '../config/build-run.js';
import type { DetkitConfig } from '../config/schema.js';
import type { Dataset, Detection } from '../data/types.js';
import type { Registry } from '../registry/registry.js';
import { assertFiniteDetections } from '../runner/evaluation.js';
import type { TrainableModel } from '../runner/model.js';

/**
 * Runs `model` (in eval mode) over the first `limit` images of `dataset`, batched and transformed
 * exactly as the config's validation data is, so predictions match `detkit eval`'s. Detections
 * are in each original image's pixels, keyed by image id.
 */
export async function predictDataset(
  model: TrainableModel,
  dataset: Dataset,
  ctx: { registry: Registry; config: DetkitConfig },
  limit = dataset.length,
): Promise<Map<number, Detection[]>> {
  const source = await buildLoader(ctx.registry, ctx.config, dataset, 'val');
  model.eval();
  const byImage = new Map<number, Detection[]>();
  for await (const batch of source.batches(0)) {
    try {
      const dets = await model.predict(batch);
      dets.forEach(assertFiniteDetections);
      batch.targets.forEach((t, i) => byImage.set(t.imageId, dets[i] ?? []));
    } finally {
      batch.images.dispose();
      batch.masks.dispose();
    }
    if (byImage.size >= limit) break;
  }
  return byImage;
}

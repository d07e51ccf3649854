import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '@detkit/core';
import type { QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import { DetkitError } from '@detkit/core';
import type { PointOutputs } from '../loss/kd-loss.js';
import type { QuerySampler } from '../samplers/sampler.js';

/** Every sampler's anchors of this iteration (`[M,4]` pre-sigmoid, M > 0; the caller owns them). */
export function sampleAnchors(samplers: readonly QuerySampler[], iter: number, teacherAnchors: tf.Tensor2D): tf.Tensor2D[] {
  const anchors = samplers.map((s) => s.sample({ iter, teacherAnchors }));
  anchors.forEach((a, i) => {
    if (a.rank !== 2 || a.shape[1] !== 4 || a.shape[0] === 0) {
      tf.dispose(anchors);
      throw new DetkitError('INVALID_ARGUMENT', `kd-detr: sampler '${samplers[i]!.name}' produced anchors of shape [${a.shape}] at iteration ${iter}; its loss terms cannot be computed (need [M,4] with M > 0)`);
    }
  });
  return anchors;
}

/**
 * The frozen teacher's final-layer outputs at every group of anchors: one encode, one
 * batched decode of all groups, outside any tape. Only the outputs survive the tidy.
 */
export function teacherAtAnchors(teacher: QueryGroupDetector, batch: Batch, anchors: readonly tf.Tensor2D[]): PointOutputs[] {
  return tf.tidy(() => {
    const encoded = teacher.encode(batch.images, batch.masks);
    const { groups } = teacher.decode(encoded, anchors.map((a): QueryGroup => ({ anchors: a })), { detection: false, finalLayerOnly: true });
    return groups.map((g) => {
      const last = g.logits.length - 1;
      return { logits: g.logits[last]!, boxes: g.boxes[last]! };
    });
  });
}

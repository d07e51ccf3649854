import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '@detkit/core';
import type { Encoded, QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import { DetkitError } from '@detkit/core';
import type { PointOutputs } from '../loss/kd-loss.js';
import type { PointAnchors, PointContent, QuerySampler } from '../samplers/sampler.js';
import { contentOf, pointGroup } from './point-group.js';

/**
 * Every sampler's anchors of this iteration (pre-sigmoid, `[M,4]` shared by the batch or
 * `[B,M,4]` per image, M > 0; the caller owns them). `batchSize` checks per-image anchors.
 */
export function sampleAnchors(samplers: readonly QuerySampler[], iter: number, teacherAnchors: PointAnchors, batchSize?: number): PointAnchors[] {
  const anchors = samplers.map((s) => s.sample({ iter, teacherAnchors }));
  anchors.forEach((a, i) => {
    const ok = a.shape[a.rank - 1] === 4 && a.shape[a.rank - 2]! > 0 && (a.rank === 2 || (a.rank === 3 && (batchSize === undefined || a.shape[0] === batchSize)));
    if (!ok) {
      tf.dispose(anchors);
      throw new DetkitError(
        'INVALID_ARGUMENT',
        `kd-detr: sampler '${samplers[i]!.name}' produced anchors of shape [${a.shape}] at iteration ${iter}; its loss terms cannot be computed (need [M,4] or [${batchSize ?? 'B'},M,4] with M > 0)`,
      );
    }
  });
  return anchors;
}

/**
 * The frozen teacher's distillation points of this iteration, outside any tape: one encode, the
 * teacher's own detection anchors (`detectionQueries(encoded)`: learned, or selected per image
 * as DINO's), every sampler's anchors, and one batched decode of all groups (final layer only).
 * Only the anchors (the caller owns them), the final-layer outputs and, with `keepEncoded`, the
 * teacher's encoder output (for points known only later: the caller disposes it) survive the tidy.
 */
export function teacherPoints(
  teacher: QueryGroupDetector, batch: Batch, samplers: readonly QuerySampler[], iter: number, keepEncoded = false,
): { anchors: PointAnchors[]; outputs: PointOutputs[]; encoded?: Encoded } {
  return tf.tidy(() => {
    const encoded = teacher.encode(batch.images, batch.masks);
    const own = teacher.detectionQueries(encoded); // its anchors feed the specific sampler, its content 'learned' points
    const anchors = samplers.length ? sampleAnchors(samplers, iter, own.anchors, batch.images.shape[0]) : [];
    const outputs = teacherAtAnchors(teacher, encoded, anchors, samplers.map((s) => s.content), own);
    return { anchors, outputs, ...(keepEncoded ? { encoded } : {}) } as unknown as tf.TensorContainer;
  }) as unknown as { anchors: PointAnchors[]; outputs: PointOutputs[]; encoded?: Encoded };
}

/**
 * The teacher's final-layer outputs at each set of anchors, in one batched decode of `encoded` (no
 * detection queries); `contents[i]` is set i's query content (default 'zeros', see pointGroup),
 * `own` the teacher's `detectionQueries(encoded)` where the caller has it already.
 */
export function teacherAtAnchors(
  teacher: QueryGroupDetector, encoded: Encoded, anchors: readonly PointAnchors[], contents: ReadonlyArray<PointContent | undefined> = [], own?: QueryGroup,
): PointOutputs[] {
  if (anchors.length === 0) return [];
  return tf.tidy(() => {
    const ownContent = contentOf(teacher, encoded, own);
    const points = anchors.map((a, i): QueryGroup => pointGroup(a, contents[i], ownContent));
    const { groups } = teacher.decode(encoded, points, { detection: false, finalLayerOnly: true });
    return groups.map((g) => {
      const last = g.logits.length - 1;
      return { logits: g.logits[last]!, boxes: g.boxes[last]! };
    });
  });
}

import * as tf from '@tensorflow/tfjs-core';
import type { Encoded, QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import type { PointAnchors, PointContent } from '../samplers/sampler.js';

/**
 * The query group one model decodes for a set of distillation points: the anchors alone
 * ('zeros', or no content given), or with that model's own detection-query content ('learned'):
 * row i mod Q of `detectionQueries(encoded).content` (`[Q,d]`, or `[B,Q,d]` per image), so
 * teacher and student each bring content of their own width. A model without content (DAB-DETR,
 * Deformable DETR) gets the anchors alone either way. Call it inside the caller's tidy (a
 * gathered copy is then freed with the decode's other intermediates); the content stays on the
 * caller's tape, so the student's rows learn from the distillation.
 */
export function pointGroup(model: QueryGroupDetector, encoded: Encoded, anchors: PointAnchors, content: PointContent | undefined): QueryGroup {
  if (content !== 'learned') return { anchors };
  const rows = anchors.shape[anchors.rank - 2]!;
  const own = tf.tidy((): tf.Tensor2D | tf.Tensor3D | undefined => {
    const c = model.detectionQueries(encoded).content;
    if (c === undefined) return undefined;
    const q = c.shape[c.rank - 2]!;
    if (q === rows) return c;
    const index = tf.tensor1d(Array.from({ length: rows }, (_, i) => i % q), 'int32');
    return tf.gather(c, index, c.rank - 2) as tf.Tensor2D | tf.Tensor3D;
  });
  return own === undefined ? { anchors } : { anchors, content: own };
}

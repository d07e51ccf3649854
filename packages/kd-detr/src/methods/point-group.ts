import * as tf from '@tensorflow/tfjs-core';
import type { Encoded, QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import type { PointAnchors, PointContent } from '../samplers/sampler.js';

/**
 * The query group one model decodes for a set of distillation points: the anchors alone
 * ('zeros', or no content given), or with that model's own detection-query content ('learned'):
 * row i mod Q of `ownContent()` (`[Q,d]`, or `[B,Q,d]` per image), so teacher and student each
 * bring content of their own width. A model without content (DAB-DETR, Deformable DETR) gets the
 * anchors alone either way. `ownContent` (see contentOf) is asked only for 'learned'. Call inside
 * the caller's tidy; the content stays on the caller's tape, so the student's rows learn from
 * the distillation.
 */
export function pointGroup(anchors: PointAnchors, content: PointContent | undefined, ownContent: () => tf.Tensor2D | tf.Tensor3D | undefined): QueryGroup {
  if (content !== 'learned') return { anchors };
  const own = ownContent();
  if (own === undefined) return { anchors };
  const rows = anchors.shape[anchors.rank - 2]!;
  const q = own.shape[own.rank - 2]!;
  if (q === rows) return { anchors, content: own };
  const index = tf.tensor1d(Array.from({ length: rows }, (_, i) => i % q), 'int32');
  return { anchors, content: tf.gather(own, index, own.rank - 2) as tf.Tensor2D | tf.Tensor3D };
}

/**
 * A model's detection-query content for 'learned' points, computed on first use and then reused:
 * `detectionContent()` where the model has it (DINO: its learned embedding, no per-image
 * selection), else the content of `own` (the caller's `detectionQueries(encoded)`, if it has it)
 * or of a fresh `detectionQueries(encoded)`.
 */
export function contentOf(model: QueryGroupDetector, encoded: Encoded, own?: QueryGroup): () => tf.Tensor2D | tf.Tensor3D | undefined {
  let done = false;
  let content: tf.Tensor2D | tf.Tensor3D | undefined;
  return () => {
    if (!done) {
      content = model.detectionContent ? model.detectionContent() : (own ?? model.detectionQueries(encoded)).content;
      done = true;
    }
    return content;
  };
}

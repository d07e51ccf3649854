import * as tf from '@tensorflow/tfjs-core';
import type { QueryGroup } from '@detkit/detectors';
import type { PointAnchors, PointContent } from '../samplers/sampler.js';

/**
 * The query group one model decodes for a set of distillation points: the anchors alone
 * ('zeros', or no content given), or with that model's own detection-query content ('learned'):
 * row i mod Q of `ownQueries().content` (`[Q,d]`, or `[B,Q,d]` per image), so teacher and
 * student each bring content of their own width. A model without content (DAB-DETR, Deformable
 * DETR) gets the anchors alone either way. `ownQueries` is the model's `detectionQueries(encoded)`,
 * asked only for 'learned' (callers memoise it: DINO's selects per image). Call inside the
 * caller's tidy; the content stays on the caller's tape, so the student's rows learn from the
 * distillation.
 */
export function pointGroup(anchors: PointAnchors, content: PointContent | undefined, ownQueries: () => QueryGroup): QueryGroup {
  if (content !== 'learned') return { anchors };
  const own = ownQueries().content;
  if (own === undefined) return { anchors };
  const rows = anchors.shape[anchors.rank - 2]!;
  const q = own.shape[own.rank - 2]!;
  if (q === rows) return { anchors, content: own };
  const index = tf.tensor1d(Array.from({ length: rows }, (_, i) => i % q), 'int32');
  return { anchors, content: tf.gather(own, index, own.rank - 2) as tf.Tensor2D | tf.Tensor3D };
}

/** `model.detectionQueries(encoded)`, computed on first use and then reused. */
export function memoised(queries: () => QueryGroup): () => QueryGroup {
  let own: QueryGroup | undefined;
  return () => (own ??= queries());
}

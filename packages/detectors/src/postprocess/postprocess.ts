import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, type BatchTarget, type Detection } from '@detkit/core';

export interface PostProcessOptions {
  /** Detections kept per image: top-k over queries x classes (DAB-DETR's num_select, 100). */
  topK?: number;
  /** Drop detections scoring below this (default 0: keep all k). */
  scoreThreshold?: number;
}

export type PostProcessTarget = Pick<BatchTarget, 'imageId' | 'origWidth' | 'origHeight'>;

/**
 * DAB-DETR's PostProcess: scores = sigmoid(logits) over all `[Q*C]` (query, class) pairs,
 * top-k per image, label = index mod C, box = that query's box. Boxes are normalised cxcywh
 * relative to the unpadded image, so they scale straight to the original image size (xyxy
 * pixels). Does not dispose its inputs.
 */
export async function postProcess(logits: tf.Tensor3D, boxes: tf.Tensor3D, targets: readonly PostProcessTarget[], opts: PostProcessOptions = {}): Promise<Detection[][]> {
  const [b, q, c] = logits.shape;
  if (boxes.shape[0] !== b || boxes.shape[1] !== q || boxes.shape[2] !== 4 || targets.length !== b) {
    throw new DetkitError('INVALID_ARGUMENT', `postProcess: logits [${logits.shape}], boxes [${boxes.shape}] and ${targets.length} targets disagree`);
  }
  const k = Math.min(opts.topK ?? 100, q * c);
  const threshold = opts.scoreThreshold ?? 0;
  const [values, indices] = tf.tidy(() => {
    const r = tf.topk(tf.reshape(tf.sigmoid(logits), [b, q * c]), k, true);
    return [r.values, r.indices];
  });
  const [v, idx, bx] = await Promise.all([values.data(), indices.data(), boxes.data()]);
  values.dispose();
  indices.dispose();
  return targets.map((t, i) => {
    const out: Detection[] = [];
    for (let j = 0; j < k; j++) {
      const score = v[i * k + j]!;
      if (score < threshold) continue;
      const flat = idx[i * k + j]!;
      const query = Math.floor(flat / c);
      const o = (i * q + query) * 4;
      const [cx, cy, w, h] = [bx[o]!, bx[o + 1]!, bx[o + 2]!, bx[o + 3]!];
      out.push({
        imageId: t.imageId,
        label: flat % c,
        score,
        box: [(cx - w / 2) * t.origWidth, (cy - h / 2) * t.origHeight, (cx + w / 2) * t.origWidth, (cy + h / 2) * t.origHeight],
      });
    }
    return out;
  });
}

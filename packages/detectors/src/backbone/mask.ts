import * as tf from '@tensorflow/tfjs-core';

/**
 * Padding mask `[B,H,W]` resized to a feature grid `[B,h,w]` by nearest neighbour with
 * source index floor(i * H / h), as DETR's `F.interpolate(mask, size)` does.
 */
export function downsampleMask(mask: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
  return tf.tidy(() => {
    if (mask.shape[1] === h && mask.shape[2] === w) return tf.clone(mask);
    const r = tf.image.resizeNearestNeighbor(tf.expandDims(mask, -1) as tf.Tensor4D, [h, w], false, false);
    return tf.squeeze(r, [3]) as tf.Tensor3D;
  });
}

import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchTarget } from '@detkit/core';
import { DabDetr, DeformableDetr, SmallCnn, type DabDetrOptions, type DeformableDetrOptions } from '../src/detectors.js';
import { rng } from './box-helpers.js';

/** A tiny DAB-DETR that runs in milliseconds on the cpu backend. */
export function tinyDabDetr(over: Partial<DabDetrOptions> = {}): DabDetr {
  return new DabDetr({
    numClasses: 3,
    backbone: new SmallCnn({ channels: [8, 16], seed: 1 }),
    hiddenDim: 16,
    numHeads: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dimFeedforward: 32,
    numQueries: 6,
    seed: 3,
    ...over,
  });
}

/** A batch of `b` random images (the second one padded on the right/bottom) with 1-2 boxes each. */
export function tinyBatch(b = 2, size = 16, seed = 0): Batch {
  const r = rng(seed);
  const images = tf.tensor4d(Float32Array.from({ length: b * size * size * 3 }, () => r()), [b, size, size, 3]);
  const m = new Float32Array(b * size * size).fill(1);
  if (b > 1) for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) if (i >= size - 4 || j >= size - 6) m[size * size + i * size + j] = 0;
  const targets: BatchTarget[] = Array.from({ length: b }, (_, i) => {
    const n = 1 + (i % 2);
    const boxes = new Float32Array(4 * n);
    for (let k = 0; k < n; k++) boxes.set([0.3 + 0.4 * r(), 0.3 + 0.4 * r(), 0.2 + 0.3 * r(), 0.2 + 0.3 * r()], 4 * k);
    return { boxes, labels: Int32Array.from({ length: n }, (_, k) => (i + k) % 3), imageId: i, height: size, width: size, origHeight: 2 * size, origWidth: 3 * size };
  });
  return { images, masks: tf.tensor3d(m, [b, size, size]), targets };
}

export function disposeBatch(b: Batch): void {
  b.images.dispose();
  b.masks.dispose();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A tiny Deformable DETR (2 levels: the small CNN's stride-4 map and one extra stride-2 level). */
export function tinyDeformableDetr(over: Partial<DeformableDetrOptions> = {}): DeformableDetr {
  return new DeformableDetr({
    numClasses: 3,
    backbone: new SmallCnn({ channels: [8, 16], seed: 1 }),
    hiddenDim: 16,
    numHeads: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dimFeedforward: 32,
    numQueries: 6,
    numFeatureLevels: 2,
    numPoints: 2,
    groupNormGroups: 4,
    seed: 3,
    ...over,
  });
}

import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchTarget, GlobalBatchInfo } from '../data/types.js';
import { DetkitError } from '../errors.js';

/** A rank's share of a global batch as plain arrays, for postMessage (the tensors stay behind). */
export interface HostShard {
  images: Float32Array;
  imagesShape: [number, number, number, number];
  masks: Float32Array;
  targets: BatchTarget[];
  global: GlobalBatchInfo;
}

/** [start, end) image ranges of `worldSize` contiguous shares of `n` images, as equal as possible (the first ones larger). */
export function shardBounds(n: number, worldSize: number): Array<[number, number]> {
  const base = Math.floor(n / worldSize);
  const extra = n % worldSize;
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let r = 0; r < worldSize; r++) {
    const end = start + base + (r < extra ? 1 : 0);
    out.push([start, end]);
    start = end;
  }
  return out;
}

export function globalInfo(batch: Batch, worldSize: number): GlobalBatchInfo {
  return { worldSize, images: batch.targets.length, boxes: batch.targets.reduce((s, t) => s + t.labels.length, 0) };
}

/**
 * Splits a global batch into `worldSize` shares of contiguous images. Every share keeps the
 * global batch's padded size, so each image is seen exactly as in one process. Returns rank
 * 0's share as tensors and the others as host arrays; disposes the global batch's tensors.
 */
export function splitBatch(batch: Batch, worldSize: number): { own: Batch; others: HostShard[] } {
  try {
    const n = batch.targets.length;
    if (n < worldSize) {
      throw new DetkitError(
        'DATASET_INVALID',
        `a batch of ${n} image${n === 1 ? '' : 's'} cannot be split over ${worldSize} ranks (train.workers): every rank needs at least one image; ` +
          `use data.batchSize >= train.workers and, when the data set size is not a multiple of the batch size, data.loader.dropLast: true`,
      );
    }
    const global = globalInfo(batch, worldSize);
    const [, h, w, c] = batch.images.shape;
    const bounds = shardBounds(n, worldSize);
    const slice = <T extends tf.Tensor>(t: T, [s, e]: [number, number]): T => tf.slice(t, [s], [e - s]) as T;
    const others = bounds.slice(1).map((range): HostShard => {
      // Copies (slice()): they are transferred to the worker, and dataSync may return a backend's own array.
      const images = tf.tidy(() => slice(batch.images, range).dataSync() as Float32Array).slice();
      const masks = tf.tidy(() => slice(batch.masks, range).dataSync() as Float32Array).slice();
      return { images, imagesShape: [range[1] - range[0], h, w, c], masks, targets: batch.targets.slice(range[0], range[1]), global };
    });
    const first = bounds[0]!;
    const own: Batch = { images: slice(batch.images, first), masks: slice(batch.masks, first), targets: batch.targets.slice(first[0], first[1]), global };
    return { own, others };
  } finally {
    batch.images.dispose();
    batch.masks.dispose();
  }
}

/** A worker's share back as a Batch (the worker owns and disposes its tensors). */
export function batchFromShard(s: HostShard): Batch {
  const [b, h, w] = s.imagesShape;
  return {
    images: tf.tensor4d(s.images, s.imagesShape),
    masks: tf.tensor3d(s.masks, [b, h, w]),
    targets: s.targets,
    global: s.global,
  };
}

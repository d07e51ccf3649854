import type * as tf from '@tensorflow/tfjs-core';

/** One image with its annotations, as a dataset yields it (before batching). */
export interface Sample {
  /** HWC float32 pixels in [0, 1] (before normalisation). */
  image: Float32Array;
  height: number;
  width: number;
  channels: number;
  /** [N*4] boxes, xyxy in pixels of `image`. */
  boxes: Float32Array;
  /** [N] contiguous class labels in [0, numClasses). */
  labels: Int32Array;
  /** [N] 1 for crowd regions (ignored in training targets, kept for evaluation). Optional. */
  iscrowd?: Uint8Array;
  imageId: number;
}

/** A random-access dataset. Implementations are registered under the `dataset` kind. */
export interface Dataset {
  readonly length: number;
  readonly classNames: readonly string[];
  get(index: number): Sample | Promise<Sample>;
}

/** Per-image training target in a batch (plain arrays: matching runs on the CPU anyway). */
export interface BatchTarget {
  /** [N*4] boxes, normalised cxcywh relative to the image's own (unpadded) size. */
  boxes: Float32Array;
  labels: Int32Array;
  imageId: number;
  /** Unpadded size of the image inside the padded batch tensor. */
  height: number;
  width: number;
  /** Size of the original image before transforms, for writing results back. */
  origHeight: number;
  origWidth: number;
}

/** A padded batch. The consumer that takes it (usually the runner) disposes the tensors. */
export interface Batch {
  /** [B,H,W,C] float32, padded to the largest image in the batch. */
  images: tf.Tensor4D;
  /** [B,H,W] float32: 1 where a pixel is real, 0 where it is padding. */
  masks: tf.Tensor3D;
  targets: BatchTarget[];
  /**
   * Set when this batch is one rank's share of a global batch (data-parallel training, see
   * `parallel/`); absent for a whole batch. Losses normalised over the batch use it through
   * `lossNormalizer`, so the ranks' averaged gradient is the global batch's gradient.
   */
  global?: GlobalBatchInfo;
}

/** The whole global batch, as seen from one rank's share of it. */
export interface GlobalBatchInfo {
  /** Ranks the global batch is split over. */
  worldSize: number;
  /** Images in the global batch. */
  images: number;
  /** Ground-truth boxes in the global batch. */
  boxes: number;
}

/** Where the runner gets batches: an epoch is one pass of `batches(epoch)`. */
export interface BatchSource {
  /** Batches per epoch. */
  readonly length: number;
  batches(epoch: number): AsyncIterable<Batch>;
}

/** One detection, in the original image's pixel coordinates (xyxy). */
export interface Detection {
  imageId: number;
  box: [number, number, number, number];
  label: number;
  score: number;
}

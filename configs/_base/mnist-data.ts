// What the MNIST-detection configs share: the digit classes and the data section. A fragment
// that configs import (it is no config itself), so it holds no paths: a path in a config is
// relative to the config file that declares it.

/** The ten digits; label = digit. */
export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** MNIST-detection on 64x64 canvases, 500 validation images, batch 8; `trainCount` training images. */
export function mnistData(trainCount: number) {
  return {
    train: { type: 'mnist-detection', split: 'train', count: trainCount, canvasSize: 64 },
    val: { type: 'mnist-detection', split: 'val', count: 500, canvasSize: 64 },
    batchSize: 8,
    loader: { type: 'default' },
  } as const;
}

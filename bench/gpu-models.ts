// What the GPU benches (gpu.ts, gpu-parity.ts) train: the shipped configs, imported (not read from
// disk, so the esbuild bundle for a bare GPU host needs no files), and deterministic synthetic
// batches (nothing reaches the dataset code, whose sharp is a native module the host lacks).
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchTarget, ForwardSteps, LossTerms, TrainableModel } from '@detkit/core';
import student from '../configs/dab-detr/mnist-student.js';
import teacher from '../configs/dab-detr/mnist-teacher.js';
import deformableStudent from '../configs/deformable-detr/mnist-student.js';
import dinoStudent from '../configs/dino/mnist-student.js';

type RawConfig = Record<string, unknown> & { model: unknown; train: Record<string, unknown> & { optimizer: Record<string, unknown> } };

/**
 * A config that `extends` another, resolved without reading files: the child's model, and its
 * optimizer keys over the parent's.
 */
function extending(parent: RawConfig, child: RawConfig): RawConfig {
  const { extends: _, ...own } = child;
  return { ...parent, ...own, model: child.model, train: { ...parent.train, ...own.train, optimizer: { ...parent.train.optimizer, ...child.train.optimizer } } };
}

/** The DAB-DETR student and teacher (the PyTorch reference's models). */
export const DAB_CONFIGS: ReadonlyArray<readonly [string, unknown]> = [['student', student], ['teacher', teacher]];
/** The Deformable DETR and DINO students. */
export const MORE_CONFIGS: ReadonlyArray<readonly [string, unknown]> = [
  ['deformable-student', deformableStudent],
  ['dino-student', extending(deformableStudent as RawConfig, dinoStudent as RawConfig)],
];

/** Random images in [0,1) with 1-3 boxes each (deterministic in `seed`; bench/torch_dab_detr.py draws the same kind). */
export function syntheticBatch(b: number, size: number, seed: number): Batch {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const images = tf.tensor4d(Float32Array.from({ length: b * size * size * 3 }, r), [b, size, size, 3]);
  const targets: BatchTarget[] = Array.from({ length: b }, (_, i) => {
    const n = 1 + Math.floor(r() * 3);
    const boxes = Float32Array.from({ length: 4 * n }, (_, k) => (k % 4 < 2 ? 0.2 + 0.6 * r() : 0.1 + 0.2 * r()));
    return { boxes, labels: Int32Array.from({ length: n }, () => Math.floor(r() * 10)), imageId: i, height: size, width: size, origHeight: size, origWidth: size };
  });
  return { images, masks: tf.ones([b, size, size]) as tf.Tensor3D, targets };
}

/** The model's loss terms as the runner computes them (matching read asynchronously mid-pass where the model does). */
export function* lossSteps(model: TrainableModel, batch: Batch): ForwardSteps<LossTerms> {
  const f = model.forwardTrainSteps ? yield* model.forwardTrainSteps(batch) : model.forwardTrain(batch);
  return f.losses;
}

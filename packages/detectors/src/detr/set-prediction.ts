import * as tf from '@tensorflow/tfjs-core';
import { lossNormalizer, Module, runStepsSync, type Linear, type MLP } from '@detkit/core';
import type { Batch, Detection, ForwardSteps, TrainableModel } from '@detkit/core';
import type { DecodeOptions, DecodeResult, Encoded, ForwardTrainOptions, QueryGroup, QueryGroupTrainOutputs } from '../contract/query-groups.js';
import type { SetCriterion } from '../losses/setCriterion.js';
import { postProcess } from '../postprocess/postprocess.js';

type TrainForward = { losses: Record<string, tf.Scalar>; outputs: QueryGroupTrainOutputs };

/** Prior probability behind the class-bias init (-log((1-p)/p)), as in Deformable / DAB-DETR. */
const PRIOR_PROB = 0.01;

/** Sets a class head's bias so that every class starts at the prior probability (sigmoid focal classification). */
export function initClassBiasToPrior(classHead: Linear): void {
  tf.tidy(() => classHead.bias!.assign(tf.fill([classHead.bias!.shape[0]], -Math.log((1 - PRIOR_PROB) / PRIOR_PROB))));
}

/** Zeroes a box head's last layer, so that its first prediction is the query's anchor (reference box) itself. */
export function zeroLastLayer(boxHead: MLP): void {
  tf.tidy(() => {
    const last = boxHead.layers[boxHead.layers.length - 1]!;
    last.weight.assign(tf.zerosLike(last.weight));
    last.bias!.assign(tf.zerosLike(last.bias!));
  });
}

/**
 * What every DETR-family detector here (DETR, DAB-DETR, Deformable DETR) does once it can
 * `encode` and `decode`: the training loss of the detection queries only (the set criterion,
 * Hungarian-matched, aux losses per layer; extra groups are decoded in the same pass and
 * returned in `outputs.groups`, never matched), and top-k prediction from the last layer.
 */
export abstract class SetPredictionDetector extends Module implements TrainableModel {
  abstract readonly classNames: readonly string[];
  abstract readonly criterion: SetCriterion;
  /** Detections per image at inference. */
  protected abstract readonly topK: number;
  /** How `predict` decodes (a detector may ask for the final layer only: predict reads only that one). */
  protected readonly predictDecodeOptions: DecodeOptions = {};

  /** Backbone + encoder, once per batch. */
  abstract encode(images: tf.Tensor4D, masks: tf.Tensor3D): Encoded;
  abstract decode(encoded: Encoded, groups: readonly QueryGroup[], options?: DecodeOptions): DecodeResult;

  /**
   * Loss of the detection queries only (Hungarian-matched, aux losses per layer); extra
   * groups are decoded in the same pass and returned in `outputs.groups`, never matched.
   */
  forwardTrain(batch: Batch, options: ForwardTrainOptions = {}): TrainForward {
    return runStepsSync(this.forwardTrainSteps(batch, options));
  }

  /** `forwardTrain` pausing once, after decoding, for the host read the matching needs. */
  *forwardTrainSteps(batch: Batch, options: ForwardTrainOptions = {}): ForwardSteps<TrainForward> {
    const encoded = this.encode(batch.images, batch.masks);
    const { detection, groups } = this.decode(encoded, options.groups ?? []);
    const layers = detection.logits.map((logits, l) => ({ logits, boxes: detection.boxes[l]! }));
    // DETR's num_boxes; on a data-parallel rank, the global batch's count (divided by the ranks).
    const numBoxes = lossNormalizer(batch, batch.targets.reduce((s, t) => s + t.labels.length, 0), 'boxes');
    const { losses } = yield* this.criterion.computeSteps(layers, batch.targets, { numBoxes });
    return { losses, outputs: { encoded, memory: encoded.memory, masks: encoded.mask, pos: encoded.pos, detection, groups } };
  }

  /** Detections per image (top-k of the last decoder layer), in original-image pixels; runs in eval mode. */
  async predict(batch: Batch): Promise<Detection[][]> {
    const wasTraining = this.training;
    this.eval();
    try {
      const [logits, boxes] = tf.tidy(() => {
        const { detection } = this.decode(this.encode(batch.images, batch.masks), [], this.predictDecodeOptions);
        const last = detection.logits.length - 1;
        return [detection.logits[last]!, detection.boxes[last]!];
      });
      try {
        return await postProcess(logits, boxes, batch.targets, { topK: this.topK });
      } finally {
        logits.dispose();
        boxes.dispose();
      }
    } finally {
      this.train(wasTraining);
    }
  }
}

import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import type { ReplicaContext } from '../parallel/replica.js';
import { Module } from './module.js';
import { syncMoments } from './sync-moments.js';
import { fusedBatchNorm, fusedRunningAverage } from '../backend/batch-norm.js';

export interface BatchNorm2dOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running average (PyTorch convention). */
  momentum?: number;
  affine?: boolean;
}

/**
 * Batch normalization over NHWC inputs (statistics over N, H, W per channel), with
 * torch.nn.BatchNorm2d names: `weight`, `bias`, `running_mean`, `running_var`,
 * `num_batches_tracked`.
 *
 * On a backend with the fused kernels (webgpu) training mode runs as one kernel forward and three
 * backward (../backend/batch-norm.ts); elsewhere composed tfjs ops.
 *
 * Modes: training -> batch statistics, running stats updated (unbiased variance, as PyTorch);
 * eval -> running statistics; frozen (`freeze()`, e.g. a frozen backbone) -> running
 * statistics even in training mode and no trainable parameters, like DETR's FrozenBatchNorm2d.
 */
export class BatchNorm2d extends Module {
  readonly weight?: tf.Variable<tf.Rank.R1>;
  readonly bias?: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;
  readonly numBatchesTracked: tf.Variable<tf.Rank.R0>;
  readonly eps: number;
  readonly momentum: number;
  /**
   * Data-parallel training sets this (`syncBatchNorm`): batch statistics then cover every rank's
   * images, as one process would compute them on the global batch.
   */
  crossReplica?: ReplicaContext;

  constructor(
    readonly numFeatures: number,
    opts: BatchNorm2dOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (opts.affine ?? true) {
      this.weight = this.param('weight', tf.ones([numFeatures]) as tf.Tensor1D);
      this.bias = this.param('bias', tf.zeros([numFeatures]) as tf.Tensor1D);
    }
    this.runningMean = this.buffer('running_mean', tf.zeros([numFeatures]) as tf.Tensor1D);
    this.runningVar = this.buffer('running_var', tf.ones([numFeatures]) as tf.Tensor1D);
    this.numBatchesTracked = this.buffer('num_batches_tracked', tf.scalar(0, 'int32'));
  }

  /** True when forward uses (and updates) batch statistics. */
  get usesBatchStats(): boolean {
    return this.training && !this.isFrozen;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.numFeatures) {
      throw new DetkitError('INVALID_ARGUMENT', `BatchNorm2d: expected NHWC input with ${this.numFeatures} channels, got shape [${x.shape}]`);
    }
    return tf.tidy(() => {
      // One kernel for statistics and normalisation where the backend has it (webgpu).
      const fused = this.usesBatchStats && !this.crossReplica && this.weight && this.bias ? fusedBatchNorm(x, this.weight, this.bias, this.eps) : null;
      if (fused) {
        const [y, mean, variance] = fused;
        this.updateRunningStats(mean, variance, x.size / this.numFeatures);
        return y as tf.Tensor4D;
      }
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (this.usesBatchStats && this.crossReplica && this.crossReplica.worldSize > 1) {
        let count: number;
        ({ mean, variance, count } = syncMoments(x, this.crossReplica));
        this.updateRunningStats(mean, variance, count);
      } else if (this.usesBatchStats) {
        ({ mean, variance } = tf.moments(x, [0, 1, 2]));
        this.updateRunningStats(mean, variance, x.size / this.numFeatures);
      } else {
        mean = this.runningMean;
        variance = this.runningVar;
      }
      // Fold everything per channel into scale/shift so the big tensor sees two ops.
      let scale = tf.rsqrt(tf.add(variance, this.eps));
      if (this.weight) scale = tf.mul(scale, this.weight);
      let shift = tf.neg(tf.mul(mean, scale));
      if (this.bias) shift = tf.add(shift, this.bias);
      return tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
    });
  }

  /**
   * Runs inside the caller's tidy (and possibly a gradient tape). The ops are off the path to
   * the loss, so the tape prunes them and disposes what they saved; assign keeps only the
   * result's data alive. The `n/(n-1)` correction matches PyTorch's running_var.
   */
  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    const m = this.momentum;
    const correction = n > 1 ? n / (n - 1) : 1;
    const newMean = fusedRunningAverage(this.runningMean, mean, m, 1);
    const newVar = fusedRunningAverage(this.runningVar, variance, m, correction);
    if (newMean && newVar) {
      this.runningMean.assign(newMean as tf.Tensor1D);
      this.runningVar.assign(newVar as tf.Tensor1D);
    } else {
      tf.dispose([newMean, newVar].filter((t): t is tf.Tensor => t !== null));
      const unbiased = n > 1 ? tf.mul(variance, correction) : variance;
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)) as tf.Tensor1D);
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)) as tf.Tensor1D);
    }
    this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')) as tf.Scalar);
  }
}

/**
 * Makes every BatchNorm2d of `model` that uses batch statistics synchronise them over ranks
 * (PyTorch's convert_sync_batchnorm); `undefined` switches them back to this process's batch.
 * Frozen ones (running statistics only) need no synchronisation and are left alone. Returns how
 * many layers it switched.
 */
export function syncBatchNorm(model: Module, replica: ReplicaContext | undefined): number {
  let n = 0;
  for (const [, m] of model.namedModules()) {
    if (m instanceof BatchNorm2d && !m.isFrozen) {
      m.crossReplica = replica;
      n++;
    }
  }
  return n;
}

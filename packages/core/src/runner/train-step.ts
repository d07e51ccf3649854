import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { clipCoefficient, globalGradNormTensor } from '../optim/clip-grad-norm.js';
import type { Optimizer } from '../optim/optimizer.js';
import { isForwardSteps, stepsOf, type ForwardSteps } from './forward-steps.js';
import { HostReader, recordSteps } from './host-reader.js';
import type { LossTerms } from './model.js';
import { SegmentedTape } from './segmented-tape.js';

export interface StepOutcome {
  /** Loss terms as numbers, in the order the model then the hooks produced them. */
  losses: Record<string, number>;
  totalLoss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

/** What the forward + backward half of a step leaves for the update half. */
export interface StepGradients {
  /** Loss-term names, in order. */
  names: string[];
  /** `[terms..., total]` on the device, not yet read. */
  readout: tf.Tensor1D;
  /** Gradient per parameter name (parameters with no path to the loss are absent). */
  grads: Map<string, tf.Tensor>;
}

/**
 * The data-parallel seam: replaces this rank's gradients (by parameter name) and its loss
 * readout `[terms..., total]` with their mean over all ranks, identical on every rank. It owns
 * its inputs (disposes them) and returns new tensors the step owns. Synchronous (it waits for
 * the other ranks); runs after the backward pass and before the finiteness check, the global
 * norm, clipping and the optimizer, so all of those see the averaged gradient. It may return
 * the global norm it computed on the host while averaging (`gradNorm`, before clipping) and
 * clip with it (`clipped`: the returned gradients are already scaled), sparing those kernels.
 */
export type StepReducer = (
  grads: Map<string, tf.Tensor>,
  readout: tf.Tensor1D,
  clipNorm: number | undefined,
) => { grads: Map<string, tf.Tensor>; readout: tf.Tensor1D; gradNorm?: number; clipped?: boolean };

/** The loss terms of a step: computed at once, or as ForwardSteps when the host must see values mid-pass. */
export type ComputeLosses = () => LossTerms | ForwardSteps<LossTerms>;

/**
 * One optimisation step: `computeGradients` (forward, any host reads, backward), then
 * `applyGradients` (one device read, finiteness check, clipping, optimizer). Nothing reads the
 * device synchronously. Every tensor created here is disposed before returning.
 */
export async function trainStep(
  params: ReadonlyArray<readonly [string, tf.Variable]>,
  computeLosses: ComputeLosses,
  optimizer: Optimizer,
  lr: number,
  clipNorm: number | undefined,
  reduce?: StepReducer,
): Promise<StepOutcome> {
  const computed = await computeGradients(params, computeLosses);
  if (!reduce) return applyGradients(computed, optimizer, lr, clipNorm);
  // Gradients computed, nothing applied: data-parallel ranks average them here.
  const r = reduce(computed.grads, computed.readout, clipNorm);
  return applyGradients({ names: computed.names, grads: r.grads, readout: r.readout }, optimizer, lr, clipNorm, { gradNorm: r.gradNorm, clipped: r.clipped });
}

/**
 * Gradients of the summed loss terms w.r.t. `params`. The losses are recorded on a
 * SegmentedTape, so ForwardSteps can pause for asynchronous host reads (answered by one
 * HostReader for the step) without a second forward pass.
 */
export async function computeGradients(params: ReadonlyArray<readonly [string, tf.Variable]>, computeLosses: ComputeLosses): Promise<StepGradients> {
  const nameOfVar = new Map(params.map(([name, v]) => [v.name, name]));
  const tape = new SegmentedTape();
  try {
    const steps = tape.record(() => {
      const r = computeLosses();
      return isForwardSteps(r) ? (r as ForwardSteps<LossTerms>) : stepsOf(() => r);
    });
    const terms = await recordSteps(tape, steps, new HostReader());
    const names = Object.keys(terms);
    if (names.length === 0) throw new DetkitError('MODEL_CONTRACT', 'forwardTrain and hooks produced no loss terms');
    const values = names.map((n) => {
      const t = terms[n]!;
      if (t.rank !== 0) throw new DetkitError('MODEL_CONTRACT', `Loss term '${n}' must be a scalar, got shape [${t.shape}]`);
      return t;
    });
    const total = tape.record(() => (values.length === 1 ? values[0]!.clone() : (tf.addN(values) as tf.Scalar)));
    const grads = tape.gradients(total, params.map(([, v]) => v));
    const readout = tf.tidy(() => tf.stack([...values, total]) as tf.Tensor1D);
    const byName = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) byName.set(nameOfVar.get(varName) ?? varName, g);
    return { names, readout, grads: byName };
  } finally {
    tape.close();
  }
}

/**
 * A single device->host read of [terms..., total, gradNorm], a finiteness check (nothing is
 * applied when a term is NaN/Inf), global-norm clipping with the norm already read (PyTorch's
 * clip_grad_norm_: scale by maxNorm / (norm + 1e-6) when that is < 1), then the optimizer.
 * `known`: a norm (and clipping) a data-parallel reducer already did. Disposes `computed`.
 */
export async function applyGradients(
  computed: StepGradients,
  optimizer: Optimizer,
  lr: number,
  clipNorm: number | undefined,
  known: { gradNorm?: number; clipped?: boolean } = {},
): Promise<StepOutcome> {
  const { names, readout, grads: byName } = computed;
  const disposeGrads = () => byName.forEach((g) => g.dispose());
  let numbers: Float32Array;
  try {
    const norm = () => (known.gradNorm !== undefined ? tf.tensor1d([known.gradNorm]) : tf.reshape(globalGradNormTensor(byName), [1]));
    const packed = tf.tidy(() => tf.concat([readout, norm()]));
    try {
      numbers = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
  } catch (e) {
    disposeGrads();
    throw e;
  } finally {
    readout.dispose();
  }

  const losses: Record<string, number> = {};
  names.forEach((n, i) => (losses[n] = numbers[i]!));
  const totalLoss = numbers[names.length]!;
  const gradNorm = numbers[names.length + 1]!;

  if (!Number.isFinite(totalLoss) || !Number.isFinite(gradNorm)) {
    disposeGrads();
    const bad = names.filter((n) => !Number.isFinite(losses[n]!));
    const what = bad.length > 0 ? `loss term${bad.length > 1 ? 's' : ''} ${bad.map((n) => `'${n}'=${losses[n]}`).join(', ')}` : `gradient norm ${gradNorm}`;
    throw new DetkitError('LOSS_NOT_FINITE', `Training diverged: ${what} is not finite (no update applied)`, { losses, gradNorm });
  }

  // Clipping scales the gradients inside the optimizer's update (no extra kernel per parameter).
  const coef = clipNorm !== undefined && clipNorm > 0 && !known.clipped ? clipCoefficient(gradNorm, clipNorm) : 1;
  try {
    optimizer.step(byName, lr, coef < 1 ? coef : 1);
  } finally {
    disposeGrads();
  }
  return { losses, totalLoss, gradNorm };
}

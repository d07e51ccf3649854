import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { clipCoefficient, globalGradNormTensor } from '../optim/clip-grad-norm.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { LossTerms } from './model.js';

export interface StepOutcome {
  /** Loss terms as numbers, in the order the model then the hooks produced them. */
  losses: Record<string, number>;
  totalLoss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
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

/**
 * One optimisation step: gradients of the summed loss terms w.r.t. `params`, a single
 * device->host read of [terms..., total, gradNorm], a finiteness check (nothing is applied
 * when a term is NaN/Inf), global-norm clipping with the norm already read (PyTorch's
 * clip_grad_norm_: scale by maxNorm / (norm + 1e-6) when that is < 1), then the optimizer.
 * Every tensor created here is disposed before returning.
 */
export function trainStep(
  params: ReadonlyArray<readonly [string, tf.Variable]>,
  computeLosses: () => LossTerms,
  optimizer: Optimizer,
  lr: number,
  clipNorm: number | undefined,
  reduce?: StepReducer,
): StepOutcome {
  const nameOfVar = new Map(params.map(([name, v]) => [v.name, name]));
  let names: string[] = [];
  let readout: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const terms = computeLosses();
    names = Object.keys(terms);
    if (names.length === 0) throw new DetkitError('MODEL_CONTRACT', 'forwardTrain and hooks produced no loss terms');
    const values = names.map((n) => {
      const t = terms[n]!;
      if (t.rank !== 0) throw new DetkitError('MODEL_CONTRACT', `Loss term '${n}' must be a scalar, got shape [${t.shape}]`);
      return t;
    });
    const total = values.length === 1 ? values[0]!.clone() : (tf.addN(values) as tf.Scalar);
    readout = tf.keep(tf.stack([...values, total]) as tf.Tensor1D);
    return total;
  }, params.map(([, v]) => v));
  value.dispose();

  let byName = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) byName.set(nameOfVar.get(varName) ?? varName, g);
  const reduced = reduce?.(byName, readout!, clipNorm);
  if (reduced) ({ grads: byName, readout } = reduced);
  const disposeGrads = () => byName.forEach((g) => g.dispose());

  const norm = () => (reduced?.gradNorm !== undefined ? tf.tensor1d([reduced.gradNorm]) : tf.reshape(globalGradNormTensor(byName), [1]));
  const packed = tf.tidy(() => tf.concat([readout!, norm()]));
  let numbers: Float32Array;
  try {
    numbers = packed.dataSync() as Float32Array;
  } finally {
    packed.dispose();
    readout?.dispose();
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

  if (clipNorm !== undefined && clipNorm > 0 && !reduced?.clipped) {
    const coef = clipCoefficient(gradNorm, clipNorm);
    if (coef < 1) {
      for (const [name, g] of byName) {
        byName.set(name, tf.mul(g, coef));
        g.dispose();
      }
    }
  }
  try {
    optimizer.step(byName, lr);
  } finally {
    disposeGrads();
  }
  return { losses, totalLoss, gradNorm };
}

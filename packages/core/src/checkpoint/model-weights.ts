// The model's weights out of safetensors contents (a weights file or a full checkpoint),
// checked finite. No file I/O and no Node built-ins: the browser page loads weights with it.
import type * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { describeNonFinite, firstNonFinite } from './finite.js';
import { decodeSafetensors, type SafetensorsContent } from './safetensors-codec.js';

export const CHECKPOINT_FORMAT = 'detkit-checkpoint/1';
export const WEIGHTS_FORMAT = 'detkit-weights/1';

/** The model's tensors of a file's contents (prefix stripped); disposes the rest. */
export function modelWeightsOf(tensors: Map<string, tf.Tensor>, metadata: Record<string, string> | undefined): Map<string, tf.Tensor> {
  if (metadata?.format !== CHECKPOINT_FORMAT) return tensors;
  const model = new Map<string, tf.Tensor>();
  for (const [key, t] of tensors) {
    if (key.startsWith('model.')) model.set(key.slice(6), t);
    else t.dispose();
  }
  return model;
}

/**
 * The model's weights of a file's contents, prefix stripped; NaN/Inf weights throw
 * CHECKPOINT_CORRUPT naming `source` and the tensor. The caller owns (and disposes) the result;
 * on failure every tensor is already freed.
 */
export async function checkedModelWeights(source: string, content: SafetensorsContent): Promise<Map<string, tf.Tensor>> {
  const weights = modelWeightsOf(content.tensors, content.metadata);
  try {
    await refuseNonFiniteLoad(source, weights);
  } catch (e) {
    weights.forEach((t) => t.dispose());
    throw e;
  }
  return weights;
}

/** `checkedModelWeights` of safetensors bytes (a fetched file, in the browser). */
export async function decodeModelWeights(bytes: Uint8Array, source: string): Promise<Map<string, tf.Tensor>> {
  return checkedModelWeights(source, decodeSafetensors(bytes, source));
}

/** Non-finite parameters or optimizer state make a checkpoint useless: refuse it at load, naming the tensor. */
export async function refuseNonFiniteLoad(path: string, tensors: Map<string, tf.Tensor>): Promise<void> {
  const bad = await firstNonFinite([...tensors].filter(([k]) => !k.startsWith('hook.')));
  if (bad) {
    throw corrupt(path, `${describeNonFinite(bad)}: the model had diverged when this was saved; use an earlier checkpoint`);
  }
}

export function corrupt(path: string, problem: string): DetkitError {
  return new DetkitError('CHECKPOINT_CORRUPT', `Checkpoint ${path}: ${problem}`, { path });
}

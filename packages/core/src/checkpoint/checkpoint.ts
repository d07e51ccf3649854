import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { describeNonFinite, firstNonFinite } from './finite.js';
import { CHECKPOINT_FORMAT, WEIGHTS_FORMAT, checkedModelWeights, corrupt, modelWeightsOf, refuseNonFiniteLoad } from './model-weights.js';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from './safetensors.js';

export { CHECKPOINT_FORMAT, WEIGHTS_FORMAT } from './model-weights.js';

/**
 * Resumable checkpoints as ONE safetensors file:
 *   model.<param or buffer name>   the model's state dict
 *   optim.<slot>                   the optimizer's state dict (`exp_avg/<name>`, `step`, ...)
 *   hook.<hook name>.<tensor>      state a hook asked to keep (EMA weights, best metric, ...)
 * and the header's `__metadata__.detkit` holds a JSON CheckpointMeta. Hook names must not
 * contain '.', so the first '.' after `hook.` always ends the hook name.
 *
 * `saveModelOnly` writes bare parameter names (no prefix) so the file loads anywhere a plain
 * state dict is expected, e.g. a PyTorch `load_state_dict` after safetensors.torch.load_file.
 */

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  /** Iterations completed. */
  iter: number;
  epoch: number;
  /** Batches of `epoch` already consumed, so a resumed run continues at the same batch. */
  epochIter: number;
  seed?: number;
  /** State of the run's Rng stream if the Rng exposes one (SeededRng.getState()). */
  rngState?: unknown;
  /** Hash of `config` (hashConfig). */
  configHash?: string;
  /** The training config that produced the state (`trainingConfig`): a resume checks it. */
  config?: Record<string, unknown>;
  detkitVersion: string;
  /** Names of the hooks whose state is in the file. */
  hooks: string[];
  /** Anything else a caller wants to remember (JSON-serialisable). */
  extra?: Record<string, unknown>;
}

export interface SaveCheckpointParts {
  model: Module;
  optimizer?: Optimizer;
  iter: number;
  epoch: number;
  epochIter?: number;
  /** Hook name -> its state tensors (Hook.stateTensors()). */
  hookTensors?: Map<string, Map<string, tf.Tensor>>;
  meta?: { seed?: number; rngState?: unknown; configHash?: string; config?: Record<string, unknown>; extra?: Record<string, unknown> };
}

export interface LoadedCheckpoint {
  model: Map<string, tf.Tensor>;
  optimizer: Map<string, tf.Tensor>;
  hooks: Map<string, Map<string, tf.Tensor>>;
  meta: CheckpointMeta;
  /** Frees every tensor read from the file. */
  dispose(): void;
}

let cachedVersion: string | undefined;

/** @detkit/core's version, read from its package.json (src/ and dist/ sit at the same depth). */
export function detkitVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cachedVersion = pkg.version ?? 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

export async function saveCheckpoint(path: string, parts: SaveCheckpointParts): Promise<void> {
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, t] of parts.model.stateDict()) tensors.set(`model.${name}`, t);
  if (parts.optimizer) for (const [name, t] of parts.optimizer.stateDict()) tensors.set(`optim.${name}`, t);
  const hookNames: string[] = [];
  for (const [hook, state] of parts.hookTensors ?? []) {
    if (hook.includes('.') || hook === '') {
      throw new DetkitError('INVALID_ARGUMENT', `saveCheckpoint(${path}): hook name '${hook}' must be non-empty without '.'`);
    }
    hookNames.push(hook);
    for (const [name, t] of state) tensors.set(`hook.${hook}.${name}`, t);
  }
  await refuseNonFiniteSave(path, tensors);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    iter: parts.iter,
    epoch: parts.epoch,
    epochIter: parts.epochIter ?? 0,
    seed: parts.meta?.seed,
    rngState: parts.meta?.rngState,
    configHash: parts.meta?.configHash,
    config: parts.meta?.config,
    detkitVersion: detkitVersion(),
    hooks: hookNames,
    extra: parts.meta?.extra,
  };
  await writeSafetensors(path, tensors, { format: CHECKPOINT_FORMAT, detkit: JSON.stringify(meta) });
}

/**
 * A diverged model must not overwrite a good checkpoint: NaN/Inf weights or optimizer state
 * throw LOSS_NOT_FINITE naming the tensor, before anything is written.
 */
async function refuseNonFiniteSave(path: string, tensors: Map<string, tf.Tensor>): Promise<void> {
  const bad = await firstNonFinite(tensors);
  if (bad) {
    throw new DetkitError('LOSS_NOT_FINITE', `Training diverged: not writing ${path}: ${describeNonFinite(bad)}`, { path, tensor: bad.name });
  }
}

/**
 * Reads and validates a checkpoint. Any problem (file corrupt, metadata missing, a tensor
 * outside the three namespaces, NaN/Inf in model or optimizer tensors) throws
 * CHECKPOINT_CORRUPT with every tensor already freed.
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  const disposeAll = () => tensors.forEach((t) => t.dispose());
  try {
    const meta = parseMeta(path, metadata);
    await refuseNonFiniteLoad(path, tensors);
    const model = new Map<string, tf.Tensor>();
    const optimizer = new Map<string, tf.Tensor>();
    const hooks = new Map<string, Map<string, tf.Tensor>>();
    for (const [key, t] of tensors) {
      if (key.startsWith('model.')) model.set(key.slice(6), t);
      else if (key.startsWith('optim.')) optimizer.set(key.slice(6), t);
      else if (key.startsWith('hook.')) {
        const rest = key.slice(5);
        const dot = rest.indexOf('.');
        if (dot <= 0) throw corrupt(path, `tensor '${key}' has no hook name`);
        const hook = rest.slice(0, dot);
        if (!hooks.has(hook)) hooks.set(hook, new Map());
        hooks.get(hook)!.set(rest.slice(dot + 1), t);
      } else throw corrupt(path, `tensor '${key}' is not under model./optim./hook.`);
    }
    if (model.size === 0) throw corrupt(path, 'no model.* tensors');
    return { model, optimizer, hooks, meta, dispose: disposeAll };
  } catch (e) {
    disposeAll();
    throw e;
  }
}

/** A checkpoint's metadata (iteration, seed, config, ...), read from its header alone. */
export async function readCheckpointMeta(path: string): Promise<CheckpointMeta> {
  return parseMeta(path, await readSafetensorsMetadata(path));
}

function parseMeta(path: string, metadata: Record<string, string> | undefined): CheckpointMeta {
  const raw = metadata?.detkit;
  if (metadata?.format !== CHECKPOINT_FORMAT || raw === undefined) {
    throw corrupt(path, `not a detkit checkpoint (metadata format '${metadata?.format ?? 'none'}', expected '${CHECKPOINT_FORMAT}')`);
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw) as CheckpointMeta;
  } catch (e) {
    throw corrupt(path, `metadata 'detkit' is not JSON: ${(e as Error).message}`);
  }
  for (const key of ['iter', 'epoch', 'epochIter'] as const) {
    if (!Number.isInteger(meta[key]) || meta[key] < 0) throw corrupt(path, `metadata ${key}=${String(meta[key])} is not a non-negative integer`);
  }
  if (!Array.isArray(meta.hooks)) throw corrupt(path, 'metadata hooks is not a list');
  return meta;
}

/** Writes only the model's parameters and buffers under their own names (for export/teachers). */
export async function saveModelOnly(path: string, module: Module, metadata: Record<string, string> = {}): Promise<void> {
  await refuseNonFiniteSave(path, module.stateDict());
  await writeSafetensors(path, module.stateDict(), { ...metadata, format: WEIGHTS_FORMAT, detkitVersion: detkitVersion() });
}

/**
 * Reads model weights from either a weights file (bare names) or a full checkpoint (the
 * `model.` namespace, prefix stripped). The caller owns (and disposes) the returned tensors.
 * NaN/Inf weights throw CHECKPOINT_CORRUPT naming the tensor.
 */
export async function loadModelWeights(path: string): Promise<Map<string, tf.Tensor>> {
  return checkedModelWeights(path, await readSafetensors(path));
}

/**
 * Writes the model weights of a checkpoint (or a weights file) as a weights-only file: what
 * you ship or hand to a teacher, without optimizer state. The iteration and the last recorded
 * validation metrics come along; `options.metrics` (measured on these weights, e.g. by
 * `detkit eval --json`) replaces the latter. Returns the tensor count and iteration.
 */
export async function exportWeights(from: string, to: string, options: { metrics?: Record<string, number> } = {}): Promise<{ tensors: number; iter?: number }> {
  const { tensors, metadata } = await readSafetensors(from);
  const weights = modelWeightsOf(tensors, metadata);
  try {
    await refuseNonFiniteLoad(from, weights);
    const meta: Record<string, string> = { format: WEIGHTS_FORMAT, detkitVersion: detkitVersion(), exportedFrom: basename(from) };
    let iter: number | undefined;
    if (metadata?.format === CHECKPOINT_FORMAT && metadata.detkit) {
      const detkit = JSON.parse(metadata.detkit) as { iter?: number; extra?: { metrics?: unknown; metricsIter?: unknown } };
      iter = Number(detkit.iter);
      if (Number.isFinite(iter)) meta.iter = String(iter);
      // The validation metrics the checkpoint recorded (and at which iteration) stay with the weights.
      if (detkit.extra?.metrics !== undefined) meta.metrics = JSON.stringify(detkit.extra.metrics);
      if (detkit.extra?.metricsIter !== undefined) meta.metricsIter = String(detkit.extra.metricsIter);
    } else if (metadata !== undefined) {
      // A weights file re-exported: its origin, iteration and metrics stay.
      if (metadata.exportedFrom !== undefined) meta.exportedFrom = metadata.exportedFrom;
      if (metadata.iter !== undefined && Number.isFinite(Number(metadata.iter))) {
        iter = Number(metadata.iter);
        meta.iter = metadata.iter;
      }
      if (metadata.metrics !== undefined) meta.metrics = metadata.metrics;
      if (metadata.metricsIter !== undefined) meta.metricsIter = metadata.metricsIter;
    }
    // Metrics measured on these weights after the fact (`detkit eval --json`) replace recorded ones.
    if (options.metrics !== undefined) {
      meta.metrics = JSON.stringify(options.metrics);
      if (iter !== undefined && Number.isFinite(iter)) meta.metricsIter = String(iter);
      else delete meta.metricsIter;
    }
    await writeSafetensors(to, weights, meta);
    return { tensors: weights.size, iter };
  } finally {
    weights.forEach((t) => t.dispose());
  }
}

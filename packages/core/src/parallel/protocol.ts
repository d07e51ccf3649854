import * as tf from '@tensorflow/tfjs-core';
import type { DetkitConfig } from '../config/schema.js';
import type { HostShard } from './shard.js';
import type { SharedBuffers } from './shared-memory.js';

/** A tensor as plain data, for postMessage. */
export interface WireTensor {
  name: string;
  dtype: tf.DataType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  rank: number;
  mem: SharedBuffers;
  /** The resolved config: the worker builds the same model and everyRank hooks from it. */
  config: DetkitConfig;
  /** Module URLs (or specs) of the plugins rank 0 loaded, in its order. */
  plugins: string[];
  pluginBaseDir: string;
  /** Rank 0's tfjs backend; every rank uses the same one, so the same kernels compute every number. */
  backend: string;
  /** Rank 0's trainable parameters (name, shape), which the worker's must match. */
  params: Array<[string, number[]]>;
  timeoutMs: number;
}

export type ToWorker =
  | { type: 'begin'; model: WireTensor[]; optimizer: WireTensor[]; hooks: Array<{ name: string; tensors: WireTensor[] }>; rngState?: unknown }
  | { type: 'step'; iter: number; epoch: number; shard: HostShard }
  | { type: 'snapshot' }
  | { type: 'stats' }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; rank: number; hooks: string[]; syncedBatchNorms: number }
  | { type: 'begun'; rank: number }
  | { type: 'snapshot'; rank: number; snapshot: ReplicaSnapshot }
  | { type: 'stats'; rank: number; stats: ReplicaStats }
  | { type: 'error'; rank: number; code?: string; message: string };

/** Cheap figures of one rank, for leak checks and benches. */
export interface ReplicaStats {
  rank: number;
  numTensors: number;
  /** Time blocked at barriers so far and barriers met (where the step waits for other ranks). */
  waits: { ms: number; barriers: number };
  /** This rank's thread CPU time so far (ms; Linux only). */
  threadCpuMs?: number;
}

/** One rank's full training state, for checks (bit-identical ranks). */
export interface ReplicaSnapshot {
  rank: number;
  model: WireTensor[];
  optimizer: WireTensor[];
}

export function toWire(tensors: ReadonlyMap<string, tf.Tensor>): WireTensor[] {
  return [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape], data: (t.dataSync() as WireTensor['data']).slice() }));
}

/** The caller disposes the tensors. */
export function fromWire(list: readonly WireTensor[]): Map<string, tf.Tensor> {
  return new Map(list.map((w) => [w.name, tf.tensor(w.data, w.shape, w.dtype)]));
}

export function describeError(e: unknown): { code?: string; message: string } {
  if (e instanceof Error) return { code: (e as { code?: string }).code, message: e.message };
  return { message: String(e) };
}

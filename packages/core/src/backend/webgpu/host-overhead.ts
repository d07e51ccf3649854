/**
 * Cuts tfjs-webgpu's host work per dispatch, which bounds a DETR training step on a GPU: a CPU
 * profile of the DAB-DETR student's step on an H200 (bench/gpu-host.sh probe) spent 29% in the
 * native calls of `recordAndSubmit`, 13% in `queue.submit` (one per 15 dispatches) and 12% in
 * `createBuffer`. Patches one backend instance (DETKIT_WEBGPU_HOST picks which, to measure each):
 *
 * - `upload`: tfjs uploads a tensor's host values (every scalar an op makes, every target the
 *   matcher returns) through a new mapped staging buffer, a copy command and an ended compute
 *   pass. Here they go through `queue.writeBuffer` into the pooled buffer, as tfjs writes its
 *   uniforms. Safe for the same reason: a buffer comes back to the pool only when no command
 *   of the unsubmitted encoder uses it (tfjs defers those releases to the next submit), so the
 *   write, which the queue runs before that encoder's commands, cannot overtake a reader.
 * - `layouts`: tfjs asks the pipeline for its bind group layout on every dispatch, a new native
 *   object each time; here each pipeline keeps the one it gave first.
 * - `submit`: commands go to the queue every DETKIT_WEBGPU_SUBMIT_BATCH dispatches (default 64)
 *   instead of tfjs's 15.
 *
 * Not done: keeping bind groups. A cache keyed by layout and buffers was reused for 0 of the 3,363
 * bind groups of a DAB-DETR student's step (SwiftShader). Even without the uniform buffer in the
 * key, 2 of 3,363 repeat from one step to the next: tfjs's pools hand each dispatch different
 * storage buffers every step, so a bind group per dispatch stays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../../errors.js';
import { chosenParts } from './env-choice.js';

export const HOST_PATCHES = ['upload', 'layouts', 'submit'] as const;
export type HostPatch = (typeof HOST_PATCHES)[number];

/** Which patches to apply, from DETKIT_WEBGPU_HOST: unset or '1' all, '0' none, else a comma list. */
export function hostPatches(setting: string | undefined): Set<HostPatch> {
  return chosenParts('DETKIT_WEBGPU_HOST', setting, HOST_PATCHES, 'patch');
}

/** Dispatches per queue submit, from DETKIT_WEBGPU_SUBMIT_BATCH (a positive integer). */
export function submitBatch(setting: string | undefined, fallback = 64): number {
  if (setting === undefined || setting === '') return fallback;
  const n = Number(setting);
  if (!Number.isInteger(n) || n < 1) throw new DetkitError('INVALID_ARGUMENT', `DETKIT_WEBGPU_SUBMIT_BATCH: '${setting}' is not a positive integer`);
  return n;
}

interface TensorData {
  values: ArrayLike<number> | null;
  dtype: string;
  shape: number[];
  resource: unknown;
}
interface Pipeline {
  getBindGroupLayout(i: number): unknown;
}
interface Device {
  createComputePipeline(d: unknown): Pipeline;
  createComputePipelineAsync?(d: unknown): Promise<Pipeline>;
}
interface Backend {
  device: Device;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void };
  tensorMap: { get(dataId: object): TensorData | undefined };
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  uploadToGPU(dataId: object): void;
}

const PATCHED = Symbol.for('detkit.webgpuHostOverhead');
declare const GPUBufferUsage: { STORAGE: number; COPY_SRC: number; COPY_DST: number };

/** Applies the patches DETKIT_WEBGPU_HOST names to the webgpu backend instance; returns them. */
export function cutHostOverhead(backend: unknown, env: NodeJS.ProcessEnv = process.env): HostPatch[] {
  const b = backend as Backend & { [PATCHED]?: HostPatch[] };
  if (b[PATCHED]) return b[PATCHED];
  const patches = hostPatches(env['DETKIT_WEBGPU_HOST']);
  if (patches.has('upload')) writeUploadsThroughQueue(b);
  if (patches.has('layouts')) keepBindGroupLayouts(b.device);
  if (patches.has('submit')) tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', submitBatch(env['DETKIT_WEBGPU_SUBMIT_BATCH']));
  b[PATCHED] = [...patches];
  return b[PATCHED];
}

function writeUploadsThroughQueue(b: Backend): void {
  const stock = b.uploadToGPU.bind(b);
  b.uploadToGPU = (dataId) => {
    const data = b.tensorMap.get(dataId);
    const wide = data?.dtype === 'int32' || data?.dtype === 'bool';
    // Anything else (no host values, already on the GPU, complex64, empty) keeps tfjs's path.
    if (!data || data.resource != null || !data.values || !(wide || data.dtype === 'float32') || data.values.length === 0) return stock(dataId);
    const values = wide ? (data.values instanceof Int32Array ? data.values : Int32Array.from(data.values)) : data.values instanceof Float32Array ? data.values : Float32Array.from(data.values);
    const buffer = b.bufferManager.acquireBuffer(values.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    b.queue.writeBuffer(buffer, 0, values);
    data.values = null;
    data.resource = buffer;
  };
}

function keepBindGroupLayouts(device: Device): void {
  const remember = (p: Pipeline): Pipeline => {
    const first = new Map<number, unknown>();
    const ask = p.getBindGroupLayout.bind(p);
    p.getBindGroupLayout = (i) => {
      if (!first.has(i)) first.set(i, ask(i));
      return first.get(i);
    };
    return p;
  };
  const create = device.createComputePipeline.bind(device);
  device.createComputePipeline = (d) => remember(create(d));
  const createAsync = device.createComputePipelineAsync?.bind(device);
  if (createAsync) device.createComputePipelineAsync = async (d) => remember(await createAsync(d));
}

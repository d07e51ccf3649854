/**
 * One Adam / AdamW step as ONE dispatch that rewrites the parameter and its two moments in
 * place. tfjs's WebGPU programs have one output each, so the fused kernel (./adam.ts) takes three
 * per parameter: 561 of the DAB-DETR student's 3,363 dispatches per step, when a step costs host
 * work per dispatch. This one is recorded straight into tfjs's command stream (its encoder, its
 * compute pass, its submit batching), binding the three buffers read-write.
 *
 * In place is only safe for a buffer no other tensor shares: `adamInPlace` declines (returns
 * false, and the caller takes the fused kernel) unless parameter and moments each have a
 * reference count of 1. A tensor read to the host keeps a CPU copy of its values, which the
 * update would leave stale: the copies are dropped here, and a read already in flight when the
 * update is recorded returns the values from before it without caching them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamStepConstants, type FusedAdamAttrs } from '../fused-adam.js';

interface TensorData {
  values: unknown;
  resource: unknown;
  dtype: string;
}
interface ComputePass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}
interface Backend {
  device: {
    createShaderModule(d: { code: string }): unknown;
    createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown };
    createBindGroup(d: unknown): unknown;
    limits: { maxComputeWorkgroupsPerDimension: number };
  };
  tensorMap: { get(dataId: object): TensorData | undefined };
  refCount(dataId: object): number;
  uploadToGPU(dataId: object): void;
  makeUniforms(u: Array<{ type: string; data: number[] }>): { offset: number; size: number; buffer: unknown };
  ensureCommandEncoderReady(): void;
  commandEncoder: { beginComputePass(d: object): ComputePass };
  computePassEncoder: ComputePass | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: { add(dataId: object): void };
  endComputePassEncoder(): void;
  submitQueue(): void;
  read(dataId: object): Promise<unknown>;
}

const WORKGROUP = 256;

const CODE = `
struct Step {
  beta1 : f32, beta2 : f32, l2 : f32, gradScale : f32,
  decay : f32, stepSize : f32, sqrtBc2 : f32, eps : f32,
  n : u32, rowStride : u32,
};
@group(0) @binding(0) var<storage, read_write> param : array<f32>;
@group(0) @binding(1) var<storage, read_write> expAvg : array<f32>;
@group(0) @binding(2) var<storage, read_write> expAvgSq : array<f32>;
@group(0) @binding(3) var<storage, read> grad : array<f32>;
@group(0) @binding(4) var<uniform> u : Step;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  let i = id.x + id.y * u.rowStride;
  if (i >= u.n) {
    return;
  }
  let w = param[i];
  let g = grad[i] * u.gradScale + u.l2 * w;
  let m = u.beta1 * expAvg[i] + (1.0 - u.beta1) * g;
  let v = u.beta2 * expAvgSq[i] + (1.0 - u.beta2) * g * g;
  expAvg[i] = m;
  expAvgSq[i] = v;
  param[i] = w * u.decay - m / (sqrt(v) / u.sqrtBc2 + u.eps) * u.stepSize;
}`;

/** Set by installWebGpuKernels (fused group 'adam-in-place'; DETKIT_WEBGPU_FUSED leaves it out to measure). */
let enabled = false;
export function enableAdamInPlace(on: boolean): void {
  enabled = on;
}

const pipelines = new WeakMap<object, { pipeline: unknown; layout: unknown }>();
/** dataIds updated in place, by how many times (a read that began before an update must not cache). */
const versions = new WeakMap<object, number>();
const WATCHED = Symbol.for('detkit.adamInPlaceReads');

function pipelineFor(b: Backend): { pipeline: unknown; layout: unknown } {
  let p = pipelines.get(b.device);
  if (!p) {
    const pipeline = b.device.createComputePipeline({ layout: 'auto', compute: { module: b.device.createShaderModule({ code: CODE }), entryPoint: 'main' } });
    p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    pipelines.set(b.device, p);
  }
  return p;
}

/** Reads that began before an in-place update return the old values but leave no CPU copy. */
function guardReads(b: Backend & { [WATCHED]?: true }): void {
  if (b[WATCHED]) return;
  b[WATCHED] = true;
  const read = b.read.bind(b);
  b.read = async (dataId) => {
    const before = versions.get(dataId);
    const values = await read(dataId);
    if (versions.get(dataId) !== before) {
      const data = b.tensorMap.get(dataId);
      if (data) data.values = null;
    }
    return values;
  };
}

/**
 * Updates `param`, `m` and `v` in place on the webgpu backend with one dispatch; false (nothing
 * done) where it does not apply: another backend, a dtype other than float32, or a buffer shared
 * with another tensor.
 */
export function adamInPlace(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: FusedAdamAttrs): boolean {
  if (!enabled || tf.getBackend() !== 'webgpu' || param.size === 0) return false;
  if ([param, grad, m, v].some((t) => t.dtype !== 'float32')) return false;
  const b = tf.backend() as unknown as Backend;
  const owned = [param, m, v];
  if (owned.some((t) => b.refCount(t.dataId) !== 1)) return false;
  guardReads(b);
  const all = [param, m, v, grad];
  for (const t of all) b.uploadToGPU(t.dataId);
  const buffers = all.map((t) => b.tensorMap.get(t.dataId)!.resource);
  const n = param.size;
  const groups = Math.ceil(n / WORKGROUP);
  const maxX = b.device.limits.maxComputeWorkgroupsPerDimension;
  const [x, y] = groups <= maxX ? [groups, 1] : [maxX, Math.ceil(groups / maxX)];
  const f32 = (d: number) => ({ type: 'float32', data: [d] });
  const u32 = (d: number) => ({ type: 'uint32', data: [d] });
  const { l2, decay, stepSize, sqrtBc2 } = adamStepConstants(a);
  const uniform = b.makeUniforms([
    f32(a.beta1), f32(a.beta2), f32(l2), f32(a.gradScale ?? 1),
    f32(decay), f32(stepSize), f32(sqrtBc2), f32(a.eps),
    u32(n), u32(x * WORKGROUP),
  ]);
  const { pipeline, layout } = pipelineFor(b);
  const bindGroup = b.device.createBindGroup({
    layout,
    entries: [...buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })), { binding: 4, resource: uniform }],
  });
  b.ensureCommandEncoderReady();
  b.computePassEncoder ??= b.commandEncoder.beginComputePass({});
  b.computePassEncoder.setPipeline(pipeline);
  b.computePassEncoder.setBindGroup(0, bindGroup);
  b.computePassEncoder.dispatchWorkgroups(x, y);
  b.dispatchCountInPass++;
  for (const t of all) b.commandQueueOwnedIds.add(t.dataId); // their disposal waits for the submit
  for (const t of owned) {
    b.tensorMap.get(t.dataId)!.values = null;
    versions.set(t.dataId, (versions.get(t.dataId) ?? 0) + 1);
  }
  if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= b.dispatchCountInPass) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  return true;
}

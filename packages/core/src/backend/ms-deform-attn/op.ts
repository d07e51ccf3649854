/**
 * `msDeformAttn`: Deformable DETR's multi-scale deformable attention sampling, on the fused
 * kernel where the backend has one (wasm and cpu: ./loops.ts; webgpu: WGSL programs,
 * ../webgpu/ms-deform-attn.ts, installed by installWebGpuKernels) and on composed tfjs ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../../errors.js';
import { msDeformAttnComposed } from './composed.js';
import { ensureMsDeformAttnKernels, MS_DEFORM_ATTN_KERNEL, type MsDeformAttnAttrs } from './kernels.js';

export type MsDeformAttnImpl = 'auto' | 'kernel' | 'composed';

/** First token of each level when the levels' [h, w] grids are flattened one after another. */
export function levelStartsOf(spatialShapes: ReadonlyArray<readonly [number, number]>): number[] {
  const starts: number[] = [];
  let s = 0;
  for (const [h, w] of spatialShapes) {
    starts.push(s);
    s += h * w;
  }
  return starts;
}

function check(value: tf.Tensor, shapes: ReadonlyArray<readonly [number, number]>, locations: tf.Tensor, weights: tf.Tensor): void {
  const bad = (what: string) => new DetkitError('INVALID_ARGUMENT', `msDeformAttn: ${what}`);
  if (value.rank !== 4) throw bad(`value must be [B,S,H,Dh], got [${value.shape}]`);
  if (weights.rank !== 5) throw bad(`weights must be [B,Q,H,L,P], got [${weights.shape}]`);
  const [B, S, H] = value.shape;
  const [wb, Q, wh, L, P] = weights.shape;
  if (wb !== B || wh !== H) throw bad(`weights [${weights.shape}] do not match value [${value.shape}] in batch / heads`);
  if (!tf.util.arraysEqual(locations.shape, [B, Q, H, L, P, 2])) throw bad(`locations must be [${[B, Q, H, L, P, 2]}], got [${locations.shape}]`);
  if (shapes.length !== L) throw bad(`${shapes.length} spatial shapes for ${L} levels`);
  if (shapes.some(([h, w]) => !(Number.isInteger(h) && Number.isInteger(w) && h >= 1 && w >= 1))) throw bad(`spatial shapes must be positive integers, got ${JSON.stringify(shapes)}`);
  const total = shapes.reduce((s, [h, w]) => s + h * w, 0);
  if (total !== S) throw bad(`levels cover ${total} tokens, value has S = ${S}`);
  if ([value, locations, weights].some((t) => t.dtype !== 'float32')) throw bad('inputs must be float32');
}

/**
 * value `[B,S,H,Dh]` (levels flattened row-major one after another), sampling locations
 * `[B,Q,H,L,P,2]` (x, y normalised to [0,1] per level), attention weights `[B,Q,H,L,P]` ->
 * `[B,Q,H*Dh]`: per query and head, the weighted sum of bilinear samples (grid_sample with
 * align_corners=False, zero padding). Differentiable in value, locations and weights.
 * `impl` forces a path (tests, benchmarks); 'kernel' fails where the backend has none.
 */
export function msDeformAttn(
  value: tf.Tensor, spatialShapes: ReadonlyArray<readonly [number, number]>, locations: tf.Tensor, weights: tf.Tensor, impl: MsDeformAttnImpl = 'auto',
): tf.Tensor3D {
  check(value, spatialShapes, locations, weights);
  const levelStarts = levelStartsOf(spatialShapes);
  const hasKernel = impl !== 'composed' && ensureMsDeformAttnKernels(tf.getBackend());
  if (impl === 'kernel' && !hasKernel) throw new DetkitError('BACKEND_UNAVAILABLE', `msDeformAttn: no ${MS_DEFORM_ATTN_KERNEL} kernel on backend '${tf.getBackend()}'`);
  if (!hasKernel) return msDeformAttnComposed(value, spatialShapes, levelStarts, locations, weights);
  const attrs: MsDeformAttnAttrs = { spatialShapes: spatialShapes.flatMap(([h, w]) => [h, w]), levelStarts };
  return tf.engine().runKernel(MS_DEFORM_ATTN_KERNEL, { value, locations, weights }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}

// Multi-scale deformable attention, forward plus backward of one sampling call at MNIST scale:
// the fused kernel (wasm/cpu loops, or WGSL on webgpu) against the composed tfjs ops, with the
// tfjs kernels (and on webgpu the GPU dispatches) each takes. Used by `bench deformable` and
// `bench gpu`; it imports no dataset code (so no sharp), as the bundle for a bare GPU host needs.
import * as tf from '@tensorflow/tfjs-core';
import { msDeformAttn, webGpuAdapter, type MsDeformAttnImpl } from '@detkit/core';
import { countStepCosts, type StepCounts } from './step-counters.js';
import { fmt, printTable, randomTensor, timeTensor, timeTensorAsync, type Timing } from './timing.js';

const LEVELS: Array<[number, number]> = [[8, 8], [4, 4], [2, 2]];
const B = 8;
const HEADS = 8;
const HEAD_DIM = 16;
const POINTS = 4;

/** Forward + backward (gradients for value, locations, weights) of one sampling call. */
function fwdBwd(queries: number, impl: MsDeformAttnImpl): () => tf.Tensor[] {
  const S = LEVELS.reduce((s, [h, w]) => s + h * w, 0);
  const L = LEVELS.length;
  const value = randomTensor([B, S, HEADS, HEAD_DIM], 1);
  // Locations spread over [-0.1, 1.1] (some outside the map, as trained offsets produce).
  const locations = tf.tidy(() => tf.add(tf.mul(randomTensor([B, queries, HEADS, L, POINTS, 2], 2), 0.6), 0.5));
  const weights = tf.tidy(() => tf.softmax(tf.reshape(randomTensor([B, queries, HEADS, L * POINTS], 3), [B, queries, HEADS, L * POINTS]), -1).reshape([B, queries, HEADS, L, POINTS]));
  const dOut = randomTensor([B, queries, HEADS * HEAD_DIM], 4);
  const g = tf.grads((v: tf.Tensor, loc: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(msDeformAttn(v, LEVELS, loc, w, impl), dOut)));
  return () => g([value, locations, weights]);
}

export const onWebGpu = () => tf.getBackend() === 'webgpu';
/** A software WebGPU adapter (SwiftShader): correct, slow, and its timings are CPU timings. */
export const onSoftwareGpu = () => onWebGpu() && (webGpuAdapter()?.software ?? true);

export function where(backend: string): string {
  const a = onWebGpu() ? webGpuAdapter() : undefined;
  if (!a) return backend;
  return `webgpu on ${a.vendor} ${a.architecture} (${a.description})${a.software ? ', a software adapter: CPU figures, not GPU ones' : ''}`;
}

function timeCall(fn: () => tf.Tensor[], reps: number, warmup: number): Promise<Timing> {
  return onWebGpu() ? timeTensorAsync(fn, reps, warmup) : Promise.resolve(timeTensor(fn, reps, warmup));
}

/** tfjs kernels and GPU dispatches (webgpu) of one call, its reads included. */
async function costsOf(fn: () => tf.Tensor[]): Promise<StepCounts> {
  const counter = countStepCosts();
  try {
    const out = tf.tidy(fn);
    await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
    return counter.take();
  } finally {
    counter.stop();
  }
}

/**
 * Cost counts (its first run: the warm-up, shaders compiled) then the median time of `reps`
 * more; an implementation that fails (webgpu: the composed ops' gather gradient at decoder
 * size, see below) gives its error instead.
 */
async function measureCall(fn: () => tf.Tensor[], reps: number, warmup: number): Promise<{ ms: number; costs: StepCounts } | { error: string }> {
  try {
    const costs = await costsOf(fn);
    return { ms: (await timeCall(fn, reps, warmup - 1)).med, costs };
  } catch (e) {
    // tfjs clears its tape only after a backward pass that finished: a failed tf.grads leaves
    // the dead tape in engine.state (gradientDepth back at 0), and the runner's training step
    // (modelTable on webgpu) refuses to start while one is there.
    const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: unknown } }).state;
    if (state.gradientDepth === 0) state.activeTape = null;
    return { error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 90) };
  }
}

export async function kernelTable(backend: string): Promise<void> {
  const S = LEVELS.reduce((s, [h, w]) => s + h * w, 0);
  const gpu = onWebGpu();
  // On SwiftShader the composed version takes ~50 s per call at encoder size.
  const [reps, warmup] = onSoftwareGpu() ? [1, 1] : [10, 2];
  const rows = [['call', 'fused kernel ms', 'composed ms', 'speed-up', 'tfjs kernels fused/composed', ...(gpu ? ['GPU dispatches fused/composed'] : [])]];
  const failures: string[] = [];
  for (const [label, q] of [[`encoder self-attn (Q = S = ${S})`, S], ['decoder cross-attn (Q = 400)', 400]] as const) {
    const fused = await measureCall(fwdBwd(q, 'kernel'), reps, warmup);
    const composed = await measureCall(fwdBwd(q, 'composed'), reps, warmup);
    const cell = (r: typeof fused, f: (ok: { ms: number; costs: StepCounts }) => string) => ('error' in r ? 'failed' : f(r));
    for (const [impl, r] of [['kernel', fused], ['composed', composed]] as const) if ('error' in r) failures.push(`${label}, ${impl}: ${r.error}`);
    rows.push([
      label, cell(fused, (r) => fmt(r.ms)), cell(composed, (r) => fmt(r.ms)),
      'error' in fused || 'error' in composed ? '-' : `${(composed.ms / fused.ms).toFixed(1)}x`,
      `${cell(fused, (r) => String(r.costs.kernels))}/${cell(composed, (r) => String(r.costs.kernels))}`,
      ...(gpu ? [`${cell(fused, (r) => String(r.costs.dispatches))}/${cell(composed, (r) => String(r.costs.dispatches))}`] : []),
    ]);
  }
  printTable(`msDeformAttn forward + backward, batch ${B}, ${HEADS} heads x ${HEAD_DIM}, ${POINTS} points, levels ${LEVELS.map(([h, w]) => `${h}x${w}`).join(', ')}; backend ${where(backend)}; median of ${reps} after ${warmup}`, rows);
  for (const f of failures) console.log(`  failed: ${f}`);
}


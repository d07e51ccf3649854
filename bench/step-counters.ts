// Counts what a training step costs beyond arithmetic: tfjs kernels run (engine level), GPU
// programs dispatched and queue submits (webgpu only), and device->host reads (any backend);
// dispatches are also attributed to the tfjs kernel that issued them (what to fuse next).
import * as tf from '@tensorflow/tfjs-core';

export interface StepCounts {
  kernels: number;
  dispatches: number;
  submits: number;
  reads: number;
}

type AnyFn = (...args: unknown[]) => unknown;

/** Wraps `obj[key]`: `around(call)` runs instead of each call; returns the undo. */
function wrap(obj: Record<string, unknown> | undefined, key: string, around: (call: () => unknown, args: unknown[]) => unknown): () => void {
  if (!obj || typeof obj[key] !== 'function') return () => {};
  const original = obj[key] as AnyFn;
  obj[key] = function (this: unknown, ...args: unknown[]) {
    return around(() => original.apply(this, args), args);
  };
  return () => void (obj[key] = original);
}

/** Starts counting on the active backend; `take()` returns the counts so far and resets them. */
export function countStepCosts(): { take(): StepCounts; byKernel(): Map<string, number>; stop(): void } {
  let c: StepCounts = { kernels: 0, dispatches: 0, submits: 0, reads: 0 };
  let byKernel = new Map<string, number>();
  const stack: string[] = [];
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const backend = tf.backend() as unknown as Record<string, unknown> & { queue?: Record<string, unknown> };
  const computePass = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: Record<string, unknown> } }).GPUComputePassEncoder?.prototype;
  const undo = [
    wrap(engine, 'runKernelFunc', (call, args) => {
      c.kernels++;
      stack.push(String((args[0] as { kernelName?: string })?.kernelName ?? '?'));
      try {
        return call();
      } finally {
        stack.pop();
      }
    }),
    // Every compute dispatch, tfjs's programs and detkit's own (the in-place Adam update records
    // straight into tfjs's compute pass, outside any tfjs kernel).
    wrap(computePass, 'dispatchWorkgroups', (call) => {
      c.dispatches++;
      const k = stack[stack.length - 1] ?? 'Adam in place (outside tfjs kernels)';
      byKernel.set(k, (byKernel.get(k) ?? 0) + 1);
      return call();
    }),
    wrap(backend.queue, 'submit', (call) => (c.submits++, call())),
    wrap(backend, 'read', (call) => (c.reads++, call())),
    wrap(backend, 'readSync', (call) => (c.reads++, call())),
  ];
  return {
    take: () => {
      const out = c;
      c = { kernels: 0, dispatches: 0, submits: 0, reads: 0 };
      byKernel = new Map();
      return out;
    },
    byKernel: () => byKernel,
    stop: () => undo.reverse().forEach((u) => u()),
  };
}

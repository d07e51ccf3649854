// Counts what a training step costs beyond arithmetic: tfjs kernels run (engine level), GPU
// programs dispatched and queue submits (webgpu only), and device->host reads (any backend).
import * as tf from '@tensorflow/tfjs-core';

export interface StepCounts {
  kernels: number;
  dispatches: number;
  submits: number;
  reads: number;
}

type AnyFn = (...args: unknown[]) => unknown;

/** Wraps `obj[key]` to count calls; returns the undo. */
function count(obj: Record<string, unknown> | undefined, key: string, bump: () => void): () => void {
  if (!obj || typeof obj[key] !== 'function') return () => {};
  const original = obj[key] as AnyFn;
  obj[key] = function (this: unknown, ...args: unknown[]) {
    bump();
    return original.apply(this, args);
  };
  return () => void (obj[key] = original);
}

/** Starts counting on the active backend; `take()` returns the counts so far and resets them. */
export function countStepCosts(): { take(): StepCounts; stop(): void } {
  let c: StepCounts = { kernels: 0, dispatches: 0, submits: 0, reads: 0 };
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const backend = tf.backend() as unknown as Record<string, unknown> & { queue?: Record<string, unknown> };
  const undo = [
    count(engine, 'runKernelFunc', () => c.kernels++),
    count(backend, 'runWebGPUProgram', () => c.dispatches++),
    count(backend.queue, 'submit', () => c.submits++),
    count(backend, 'read', () => c.reads++),
    count(backend, 'readSync', () => c.reads++),
  ];
  return {
    take: () => {
      const out = c;
      c = { kernels: 0, dispatches: 0, submits: 0, reads: 0 };
      return out;
    },
    stop: () => undo.reverse().forEach((u) => u()),
  };
}

import type * as tf from '@tensorflow/tfjs-core';

/** Host copies of the tensors a forward pass asked for, in the order asked (read-only views). */
export type HostValues = ReadonlyArray<tf.TypedArray>;

/**
 * A training forward pass that may stop to see tensor values on the host (DETR's Hungarian
 * matching needs the predictions mid-pass): it yields the tensors and receives their values,
 *
 *   const [logits, boxes] = yield [logitsTensor, boxesTensor];
 *
 * and returns its result. The runner answers each yield with an asynchronous read while the
 * gradient tape is paused (no backend has to read synchronously; WebGPU cannot in Node), and
 * everything computed before and after the yield lands on one tape. Between two yields the code
 * is synchronous, so nothing else can record onto the tape. Compose with `yield*`.
 */
export type ForwardSteps<T> = Generator<readonly tf.Tensor[], T, HostValues>;

export function isForwardSteps(x: unknown): x is ForwardSteps<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as Generator).next === 'function' && typeof (x as Generator)[Symbol.iterator] === 'function';
}

/** Steps whose body is `fn` and which read nothing; `fn` runs on the first `next()` (inside the tape). */
export function* stepsOf<T>(fn: () => T): ForwardSteps<T> {
  return fn();
}

/**
 * Runs `steps` to the end answering every read synchronously (`dataSync`): for callers inside a
 * plain `tf.variableGrads` on backends that read synchronously (cpu, wasm, tensorflow).
 */
export function runStepsSync<T>(steps: ForwardSteps<T>): T {
  let r = steps.next();
  while (!r.done) r = steps.next(r.value.map((t) => t.dataSync()));
  return r.value;
}

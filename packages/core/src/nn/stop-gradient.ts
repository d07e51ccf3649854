import * as tf from '@tensorflow/tfjs-core';

/**
 * The same values with NO gradient path at all: a new tensor on the same buffer, created
 * outside the tape, so nothing computed from it is differentiated (tfjs has no stopGradient).
 * A `customGrad` returning zeros gives the same gradients, but tfjs still back-propagates
 * through everything downstream of it only to multiply by zero at the end.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const engine = tf.engine();
  const backend = engine.state.tensorInfo.get(x.dataId)?.backend ?? engine.backend;
  // As tf.engine().incRef: the engine counts the new tensor, the backend its buffer share.
  const y = engine.makeTensorFromDataId(x.dataId, x.shape, x.dtype, backend) as T;
  backend.incRef(x.dataId);
  return y;
}

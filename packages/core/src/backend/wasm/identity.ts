/**
 * Identity for wasm without a copy. The stock kernel copies the tensor; tfjs calls it for
 * every tensor a gradient saves (`saveTensorsForBackwardMode` clones them): ~2,600 copies
 * per DAB-DETR training step. Tensors are immutable and the wasm backend reference-counts
 * its buffers (the stock Reshape shares data the same way), so sharing is safe.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function makeSharedIdentity(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stock(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  }) as unknown as KernelFunc;
}

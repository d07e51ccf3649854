/**
 * The shared buffers of a data-parallel group, created by rank 0 and handed to every worker
 * (SharedArrayBuffers are shared, not copied, by postMessage / workerData).
 */
export interface SharedBuffers {
  worldSize: number;
  /** Int32 control words, see CTRL. */
  ctrl: SharedArrayBuffer;
  /** UTF-8 text of the first failure (which rank, what). */
  error: SharedArrayBuffer;
  /** Float64 scalars rank 0 publishes with each step, see SCALAR. */
  scalars: SharedArrayBuffer;
  /** Float64 slots of `allSum`: 2 parities x worldSize ranks x SMALL_SLOT values. */
  small: SharedArrayBuffer;
  /** Float32 gradient slots: worldSize ranks + 1 result, each `gradSlot` values. */
  grads: SharedArrayBuffer;
  /** Values in one gradient slot: every trainable parameter, then up to READOUT_MAX loss values. */
  gradSlot: number;
  /** Uint8 per rank per parameter: 1 when that rank has a gradient for it this step. */
  present: SharedArrayBuffer;
  /** Int32 per rank: length of its loss readout this step. */
  readoutLen: SharedArrayBuffer;
  /** Float64 per rank: sum of squares of its chunk of the averaged gradient (the global norm's parts). */
  partials: SharedArrayBuffer;
}

export const CTRL = { count: 0, generation: 1, abort: 2, errorRank: 3, errorLength: 4, size: 8 } as const;
export const SCALAR = { lr: 0, size: 4 } as const;
export const SMALL_SLOT = 4096;
export const READOUT_MAX = 1024;
export const ERROR_BYTES = 4096;

/** Buffers for `worldSize` ranks training a model with `paramSizes` (element counts, in order). */
export function createSharedBuffers(worldSize: number, paramSizes: readonly number[]): SharedBuffers {
  const gradSlot = paramSizes.reduce((s, n) => s + n, 0) + READOUT_MAX;
  return {
    worldSize,
    ctrl: new SharedArrayBuffer(CTRL.size * 4),
    error: new SharedArrayBuffer(ERROR_BYTES),
    scalars: new SharedArrayBuffer(SCALAR.size * 8),
    small: new SharedArrayBuffer(2 * worldSize * SMALL_SLOT * 8),
    grads: new SharedArrayBuffer((worldSize + 1) * gradSlot * 4),
    gradSlot,
    present: new SharedArrayBuffer(worldSize * Math.max(1, paramSizes.length)),
    readoutLen: new SharedArrayBuffer(worldSize * 4),
    partials: new SharedArrayBuffer(worldSize * 8),
  };
}

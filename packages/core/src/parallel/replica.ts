/**
 * Where this process sits in a data-parallel run and how it combines numbers with the other
 * ranks. Every hook sees it as `state.replica`; a single-process run has `SINGLE_REPLICA`.
 */
export interface ReplicaContext {
  /** 0 for the main thread (the runner with every hook), 1..worldSize-1 for worker threads. */
  readonly rank: number;
  readonly worldSize: number;
  /**
   * Element-wise sum of `values` over all ranks, added in rank order in float64, so every rank
   * gets bit-identical numbers. A collective: every rank must make the same calls in the same
   * order each iteration. Synchronous (it blocks until all ranks have contributed), so it may
   * run inside the gradient tape (synchronised batch norm does).
   */
  allSum(values: ArrayLike<number>): Float64Array;
}

export const SINGLE_REPLICA: ReplicaContext = Object.freeze({
  rank: 0,
  worldSize: 1,
  allSum: (values: ArrayLike<number>) => Float64Array.from(values),
});

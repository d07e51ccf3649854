import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { clipCoefficient } from '../optim/clip-grad-norm.js';
import type { StepReducer } from '../runner/train-step.js';
import type { Collective } from './collective.js';
import { READOUT_MAX, SCALAR, type SharedBuffers } from './shared-memory.js';

/** A trainable parameter's place in a gradient slot. */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Offsets of `params` (name, shape) in a slot, in order; every rank derives the same. */
export function paramSlots(params: ReadonlyArray<readonly [string, { shape: number[] }]>): ParamSlot[] {
  let offset = 0;
  return params.map(([name, v]) => {
    const size = v.shape.reduce((a, b) => a * b, 1);
    const slot = { name, shape: [...v.shape], offset, size };
    offset += size;
    return slot;
  });
}

/**
 * The gradient all-reduce over shared memory, as a reduce-scatter then a read by all: each rank
 * writes its gradients and loss readout into its own slot; after a barrier, rank r averages
 * the r-th chunk of every slot ((g0 + g1 + ...) / W, in rank order, float64 then float32) into
 * the result slot, summing the squares of what it wrote; after a second barrier every rank
 * reads the whole result and adds the W partial sums in rank order: the global norm. One rank
 * computes each number, so every rank gets bit-identical gradients and norm, and the work is
 * split W ways. Clipping is applied while the result is copied out (no norm or clip kernels).
 *
 * Rank 0 also publishes the step's learning rate here (hooks on rank 0 set it), which the
 * other ranks read as `lr`.
 */
export class GradientAllReduce {
  /** The learning rate of the last reduced step, as rank 0 set it. */
  lr = 0;
  private readonly slots: Float32Array[];
  private readonly result: Float32Array;
  private readonly present: Uint8Array;
  private readonly readoutLen: Int32Array;
  private readonly scalars: Float64Array;
  private readonly partials: Float64Array;
  private readonly total: number;

  constructor(
    private readonly collective: Collective,
    mem: SharedBuffers,
    readonly params: readonly ParamSlot[],
  ) {
    const w = mem.worldSize;
    const all = new Float32Array(mem.grads);
    this.slots = Array.from({ length: w }, (_, r) => all.subarray(r * mem.gradSlot, (r + 1) * mem.gradSlot));
    this.result = all.subarray(w * mem.gradSlot, (w + 1) * mem.gradSlot);
    this.present = new Uint8Array(mem.present);
    this.readoutLen = new Int32Array(mem.readoutLen);
    this.scalars = new Float64Array(mem.scalars);
    this.partials = new Float64Array(mem.partials);
    this.total = params.reduce((s, p) => s + p.size, 0);
    if (this.total + READOUT_MAX !== mem.gradSlot) {
      throw new DetkitError('WORKER_FAILED', `data-parallel: this rank's trainable parameters (${this.total} values) differ from rank 0's (${mem.gradSlot - READOUT_MAX})`);
    }
  }

  /** The reducer for one step; `lr` is published by rank 0 (ignored elsewhere). */
  reducer(lr?: number): StepReducer {
    return (grads, readout, clipNorm) => {
      try {
        return this.reduce(grads, readout, lr, clipNorm);
      } finally {
        grads.forEach((g) => g.dispose());
        readout.dispose();
      }
    };
  }

  private reduce(grads: Map<string, tf.Tensor>, readout: tf.Tensor1D, lr: number | undefined, clipNorm: number | undefined): ReturnType<StepReducer> {
    const { rank, worldSize: w } = this.collective;
    const n = this.params.length;
    const own = this.slots[rank]!;
    for (const [i, p] of this.params.entries()) {
      const g = grads.get(p.name);
      this.present[rank * n + i] = g ? 1 : 0;
      if (g) own.set(g.dataSync() as Float32Array, p.offset);
      else own.fill(0, p.offset, p.offset + p.size); // no gradient on this rank: it adds zero
    }
    const values = readout.dataSync();
    if (values.length > READOUT_MAX) throw new DetkitError('MODEL_CONTRACT', `data-parallel: ${values.length - 1} loss terms; at most ${READOUT_MAX - 1} are supported`);
    own.set(values, this.total);
    this.readoutLen[rank] = values.length;
    if (rank === 0) this.scalars[SCALAR.lr] = lr ?? 0;
    this.collective.barrier();

    // Every rank checks the same shared numbers, so all of them throw or none does.
    for (let r = 1; r < w; r++) {
      if (this.readoutLen[r] !== this.readoutLen[0]) {
        throw new DetkitError('MODEL_CONTRACT', `data-parallel: rank ${r} produced ${this.readoutLen[r]! - 1} loss terms, rank 0 ${this.readoutLen[0]! - 1} (the ranks' hooks differ?)`);
      }
    }
    this.lr = this.scalars[SCALAR.lr]!;
    // Read between the barriers: after the second one a fast rank may already write the next step's.
    const anyRank = this.params.map((_, i) => {
      for (let r = 0; r < w; r++) if (this.present[r * n + i] === 1) return true;
      return false;
    });
    const len = this.total + values.length;
    const chunk = Math.ceil(len / w);
    const lo = Math.min(len, rank * chunk);
    const hi = Math.min(len, lo + chunk);
    const { slots, result } = this;
    let squares = 0;
    for (let i = lo; i < hi; i++) {
      let s = 0;
      for (let r = 0; r < w; r++) s += slots[r]![i]!;
      const mean = Math.fround(s / w);
      result[i] = mean;
      if (i < this.total) squares += mean * mean;
    }
    this.partials[rank] = squares;
    this.collective.barrier();

    let sum = 0;
    for (let r = 0; r < w; r++) sum += this.partials[r]!;
    const gradNorm = Math.sqrt(sum);
    // Not clipped when the norm is not finite: the step then refuses the update anyway.
    const coef = clipNorm !== undefined && clipNorm > 0 && Number.isFinite(gradNorm) ? Math.fround(clipCoefficient(gradNorm, clipNorm)) : 1;
    // Copies (slice): a backend may keep the array it is given, and the result is reused.
    const out = new Map<string, tf.Tensor>();
    for (const [i, p] of this.params.entries()) {
      if (!anyRank[i]) continue;
      const values = result.slice(p.offset, p.offset + p.size);
      if (coef < 1) for (let k = 0; k < values.length; k++) values[k] = values[k]! * coef;
      out.set(p.name, tf.tensor(values, p.shape, 'float32'));
    }
    return { grads: out, readout: tf.tensor1d(result.slice(this.total, len), 'float32'), gradNorm, clipped: coef < 1 };
  }
}

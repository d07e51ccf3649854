import { DetkitError } from '../errors.js';
import type { ReplicaContext } from './replica.js';
import { CTRL, ERROR_BYTES, SMALL_SLOT, type SharedBuffers } from './shared-memory.js';

/** How long a rank waits at a barrier before giving up (a rank died without saying so). */
export const DEFAULT_BARRIER_TIMEOUT_MS = Number(process.env['DETKIT_DP_TIMEOUT_MS'] ?? 10 * 60_000);
/** Waits are cut into slices so an abort that raced the notify is still seen promptly. */
const WAIT_SLICE_MS = 200;
const SPINS = Number(process.env['DETKIT_DP_SPINS'] ?? 20_000);

/**
 * One rank's handle on the group's shared memory: a barrier, `allSum`, and the abort flag
 * through which a failing rank wakes the others (they throw WORKER_FAILED with its message
 * instead of waiting for ever). Blocking waits use Atomics.wait, which Node allows on the main
 * thread too: rank 0 blocks only inside a step, while the other ranks compute.
 */
export class Collective implements ReplicaContext {
  readonly worldSize: number;
  private readonly ctrl: Int32Array;
  private readonly small: Float64Array;
  private parity = 0;
  /** Time this rank spent blocked at barriers, and how many barriers it met (for benches). */
  readonly waits = { ms: 0, barriers: 0 };

  constructor(
    readonly rank: number,
    private readonly mem: SharedBuffers,
    private readonly timeoutMs = DEFAULT_BARRIER_TIMEOUT_MS,
  ) {
    this.worldSize = mem.worldSize;
    this.ctrl = new Int32Array(mem.ctrl);
    this.small = new Float64Array(mem.small);
  }

  /** Returns when every rank has called it (sense by generation count, so it is reusable at once). */
  barrier(): void {
    const { ctrl } = this;
    this.throwIfAborted();
    const generation = Atomics.load(ctrl, CTRL.generation);
    if (Atomics.add(ctrl, CTRL.count, 1) === this.worldSize - 1) {
      this.waits.barriers++;
      Atomics.store(ctrl, CTRL.count, 0);
      Atomics.add(ctrl, CTRL.generation, 1);
      Atomics.notify(ctrl, CTRL.generation);
      return;
    }
    this.waits.barriers++;
    const start = performance.now();
    // Spin briefly first: with every rank on its own core the others arrive within microseconds,
    // sooner than a sleeping thread wakes.
    for (let i = 0; i < SPINS && Atomics.load(ctrl, CTRL.generation) === generation; i++);
    while (Atomics.load(ctrl, CTRL.generation) === generation) {
      this.throwIfAborted();
      if (performance.now() - start > this.timeoutMs) {
        this.abort(`rank ${this.rank} waited ${Math.round(this.timeoutMs / 1000)} s at a barrier (DETKIT_DP_TIMEOUT_MS): another rank stopped responding`);
        this.throwIfAborted();
      }
      Atomics.wait(ctrl, CTRL.generation, generation, WAIT_SLICE_MS);
    }
    this.waits.ms += performance.now() - start;
  }

  /**
   * Element-wise sums over ranks in rank order (float64), identical on every rank. Slots are
   * double-buffered by call parity, so one barrier per call suffices: a rank can only reuse a
   * parity after the next call's barrier, which every rank reaches after reading this one.
   */
  allSum(values: ArrayLike<number>): Float64Array {
    const n = values.length;
    const out = new Float64Array(n);
    const chunks = Math.max(1, Math.ceil(n / SMALL_SLOT)); // an empty call still meets the others
    for (let c = 0; c < chunks; c++) {
      const start = c * SMALL_SLOT;
      const len = Math.min(SMALL_SLOT, n - start);
      const base = this.parity * this.worldSize * SMALL_SLOT;
      this.parity ^= 1;
      const own = base + this.rank * SMALL_SLOT;
      for (let i = 0; i < len; i++) this.small[own + i] = values[start + i]!;
      this.barrier();
      for (let r = 0; r < this.worldSize; r++) {
        const slot = base + r * SMALL_SLOT;
        for (let i = 0; i < len; i++) out[start + i] += this.small[slot + i]!;
      }
    }
    return out;
  }

  /** Marks the group failed (the first message wins) and wakes every waiting rank. */
  abort(message: string): void {
    if (Atomics.compareExchange(this.ctrl, CTRL.abort, 0, 1) === 0) {
      const bytes = new TextEncoder().encode(message).subarray(0, ERROR_BYTES);
      new Uint8Array(this.mem.error).set(bytes);
      Atomics.store(this.ctrl, CTRL.errorLength, bytes.length);
      Atomics.store(this.ctrl, CTRL.errorRank, this.rank);
    }
    Atomics.notify(this.ctrl, CTRL.generation);
  }

  /** The failure that stopped the group, if any. */
  failure(): { rank: number; message: string } | undefined {
    if (Atomics.load(this.ctrl, CTRL.abort) === 0) return undefined;
    const len = Atomics.load(this.ctrl, CTRL.errorLength);
    // Copied out of shared memory first: TextDecoder refuses shared views.
    const message = new TextDecoder().decode(new Uint8Array(this.mem.error).slice(0, len));
    return { rank: Atomics.load(this.ctrl, CTRL.errorRank), message };
  }

  throwIfAborted(): void {
    const f = this.failure();
    if (f) throw new DetkitError('WORKER_FAILED', `data-parallel training stopped: ${f.message}`, { rank: f.rank });
  }
}

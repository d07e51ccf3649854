import { DetkitError } from '../core.js';
import type { Batch, BatchSource, Dataset, Sample } from '../core.js';
import { applyTransforms, type Transform } from '../transforms/transform.js';
import { createRng, hashString, mixSeed } from '../util/rng.js';
import { collate, toBatch, type PreparedBatch } from './collate.js';

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  transforms?: readonly Transform[];
  /** Drop a last, incomplete batch. Default false. */
  dropLast?: boolean;
  /** Batches prepared ahead of the one being consumed. Default 1. */
  prefetch?: number;
}

const ORDER = hashString('loader/order');
const AUGMENT = hashString('loader/augment');

/**
 * Batches a Dataset: a seeded shuffle per epoch, transforms seeded by (seed, epoch, index), padding
 * with masks, and prefetch - batch k+1's samples are requested before batch k is handed out, so
 * async work (image decoding in sharp's thread pool) overlaps with training on batch k.
 */
export class DataLoader implements BatchSource {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly transforms: readonly Transform[];
  readonly dropLast: boolean;
  readonly prefetch: number;

  constructor(
    readonly dataset: Dataset,
    options: LoaderOptions,
  ) {
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? 0;
    this.transforms = options.transforms ?? [];
    this.dropLast = options.dropLast ?? false;
    this.prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new DetkitError('CONFIG_INVALID', `loader: 'batchSize' must be a positive integer, got ${this.batchSize}`, { key: 'batchSize' });
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) throw new DetkitError('CONFIG_INVALID', `loader: 'prefetch' must be a non-negative integer, got ${this.prefetch}`, { key: 'prefetch' });
  }

  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The dataset indices of an epoch, in visiting order: a pure function of (seed, epoch). */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    if (!this.shuffle) return idx;
    const rng = createRng(mixSeed(this.seed, ORDER, epoch));
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    return idx;
  }

  /** One transformed sample: what batch position `index` of an epoch sees. Pure in (seed, epoch, index). */
  async sample(index: number, epoch: number): Promise<{ sample: Sample; origHeight: number; origWidth: number }> {
    const raw = await this.dataset.get(index);
    const rng = createRng(mixSeed(this.seed, AUGMENT, epoch, index));
    return { sample: applyTransforms(raw, this.transforms, rng), origHeight: raw.height, origWidth: raw.width };
  }

  private async prepare(order: Int32Array, k: number, epoch: number): Promise<PreparedBatch> {
    const ids = Array.from(order.subarray(k * this.batchSize, Math.min(order.length, (k + 1) * this.batchSize)));
    // All gets start now (not one after another) so async datasets decode in parallel.
    const items = await Promise.all(ids.map((i) => this.sample(i, epoch)));
    return collate(items.map((it) => it.sample), items.map((it) => ({ height: it.origHeight, width: it.origWidth })));
  }

  async *batches(epoch: number): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const total = this.length;
    const pending: Promise<PreparedBatch>[] = [];
    let next = 0;
    const launch = (): void => {
      const p = this.prepare(order, next++, epoch);
      // Marked handled so a failure in a batch nobody awaits (early break) cannot crash the process;
      // the consumer still sees the error when it awaits that batch.
      p.catch(() => undefined);
      pending.push(p);
    };
    if (total > 0) launch();
    while (pending.length > 0) {
      const prepared = await pending.shift()!;
      while (next < total && pending.length < this.prefetch) launch();
      yield toBatch(prepared);
      // prefetch 0: the next batch starts only once the consumer asks for it.
      if (pending.length === 0 && next < total) launch();
    }
  }
}

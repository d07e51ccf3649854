import * as tf from '@tensorflow/tfjs-core';
import type { ForwardSteps, HostValues } from './forward-steps.js';
import type { SegmentedTape } from './segmented-tape.js';

/**
 * Answers a training step's host reads: every float32 tensor asked for at one point is packed
 * into one buffer and read with one asynchronous `data()` (one device round trip on a GPU,
 * however many tensors), and values are cached by tensor for the step, so a hook asking for
 * tensors the model already read (KD's matching on the student's outputs) costs nothing.
 */
export class HostReader {
  private readonly cache = new Map<number, tf.TypedArray>();

  async read(tensors: readonly tf.Tensor[]): Promise<HostValues> {
    const missing = [...new Set(tensors.filter((t) => !this.cache.has(t.id)))];
    const float = missing.filter((t) => t.dtype === 'float32' && t.size > 0);
    const other = missing.filter((t) => !float.includes(t));
    const reads: Promise<void>[] = other.map(async (t) => void this.cache.set(t.id, await t.data()));
    if (float.length === 1) reads.push(float[0]!.data().then((v) => void this.cache.set(float[0]!.id, v)));
    if (float.length > 1) reads.push(this.readPacked(float));
    await Promise.all(reads);
    return tensors.map((t) => this.cache.get(t.id)!);
  }

  private async readPacked(list: tf.Tensor[]): Promise<void> {
    const packed = tf.tidy(() => tf.concat(list.map((t) => tf.reshape(t, [-1]))));
    let values: Float32Array;
    try {
      values = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
    let offset = 0;
    for (const t of list) {
      this.cache.set(t.id, values.subarray(offset, offset + t.size));
      offset += t.size;
    }
  }
}

/** Runs `steps` on `tape`, one recorded segment per stretch between reads, the reads in between. */
export async function recordSteps<T>(tape: SegmentedTape, steps: ForwardSteps<T>, reader: HostReader): Promise<T> {
  let r = tape.record(() => steps.next());
  while (!r.done) {
    const values = await reader.read(r.value);
    r = tape.record(() => steps.next(values));
  }
  return r.value;
}

import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Batch, BatchSource, BuildContext, Dataset, Factory, PluginContext, Sample, TypedConfig } from '../src/core.js';
import { DataLoader } from '../src/loader/loader.js';
import { registerDatasets } from '../src/register.js';
import { ShapesDataset } from '../src/shapes/shapes-dataset.js';
import { Resize } from '../src/transforms/resize.js';
import { RandomCrop } from '../src/transforms/random-crop.js';
import { createRng } from '../src/util/rng.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** Image i is h_i x w_i with every pixel = i + 1, one normal box and one crowd box. */
class SizedDataset implements Dataset {
  readonly classNames = ['a', 'b'];
  readonly calls: number[] = [];
  constructor(readonly sizes: [number, number][], readonly delayMs = 0) {}
  get length(): number {
    return this.sizes.length;
  }
  async get(i: number): Promise<Sample> {
    this.calls.push(i);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const [h, w] = this.sizes[i]!;
    return {
      image: new Float32Array(h * w * 3).fill(i + 1), height: h, width: w, channels: 3,
      boxes: Float32Array.from([0, 0, w / 2, h / 4, 1, 1, 2, 2]), labels: Int32Array.from([1, 0]),
      iscrowd: Uint8Array.from([0, 1]), imageId: 100 + i,
    };
  }
}

async function collect(src: BatchSource, epoch: number, fn: (b: Batch) => void | Promise<void>): Promise<void> {
  for await (const b of src.batches(epoch)) {
    try {
      await fn(b);
    } finally {
      tf.dispose([b.images, b.masks]);
    }
  }
}

test.serial('pads to the largest image with masks; targets are normalised cxcywh without crowd boxes', async (t) => {
  const sizes: [number, number][] = [[4, 6], [7, 3], [5, 5], [2, 2], [3, 8]];
  const ds = new SizedDataset(sizes);
  const loader = new DataLoader(ds, { batchSize: 3 });
  t.is(loader.length, 2);
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  await collect(loader, 0, (b) => {
    const B = b.targets.length;
    const ids = b.targets.map((tg) => tg.imageId - 100);
    seen.push(...ids);
    const H = Math.max(...ids.map((i) => sizes[i]![0]));
    const W = Math.max(...ids.map((i) => sizes[i]![1]));
    t.deepEqual(b.images.shape, [B, H, W, 3]);
    t.deepEqual(b.masks.shape, [B, H, W]);
    const img = b.images.dataSync();
    const mask = b.masks.dataSync();
    ids.forEach((i, k) => {
      const [h, w] = sizes[i]!;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const inside = y < h && x < w;
        if (mask[(k * H + y) * W + x] !== (inside ? 1 : 0)) t.fail(`mask ${k},${y},${x}`);
        if (img[((k * H + y) * W + x) * 3 + 2] !== (inside ? i + 1 : 0)) t.fail(`pixel ${k},${y},${x}`);
      }
      const tg = b.targets[k]!;
      t.deepEqual([tg.height, tg.width, tg.origHeight, tg.origWidth], [h, w, h, w]);
      t.deepEqual([...tg.labels], [1]); // crowd box left out
      // box [0, 0, w/2, h/4] -> cx = w/4 / w, cy = h/8 / h, w/2 / w, h/4 / h
      t.deepEqual([...tg.boxes], [0.25, 0.125, 0.5, 0.25]);
    });
  });
  t.deepEqual(seen, [0, 1, 2, 3, 4]);
  t.is(tf.memory().numTensors, before, 'no tensors leak');
});

test.serial('dropLast and length', (t) => {
  const ds = new SizedDataset(Array.from({ length: 10 }, () => [2, 2] as [number, number]));
  t.is(new DataLoader(ds, { batchSize: 4 }).length, 3);
  t.is(new DataLoader(ds, { batchSize: 4, dropLast: true }).length, 2);
  t.is(new DataLoader(ds, { batchSize: 5, dropLast: true }).length, 2);
});

test.serial('order is a seeded permutation per epoch: same (seed, epoch) same order, and batches follow it', async (t) => {
  const ds = new SizedDataset(Array.from({ length: 23 }, () => [2, 2] as [number, number]));
  const a = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 3 });
  const b = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 3 });
  t.deepEqual(a.order(0), b.order(0));
  t.notDeepEqual(a.order(0), a.order(1));
  t.notDeepEqual(a.order(0), new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 4 }).order(0));
  t.deepEqual([...a.order(2)].sort((x, y) => x - y), Array.from({ length: 23 }, (_, i) => i));
  t.deepEqual([...new DataLoader(ds, { batchSize: 5 }).order(7)], Array.from({ length: 23 }, (_, i) => i));
  const seen: number[] = [];
  await collect(a, 1, (bt) => void seen.push(...bt.targets.map((tg) => tg.imageId - 100)));
  t.deepEqual(seen, [...a.order(1)]);
  const dropped = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 3, dropLast: true });
  let n = 0;
  await collect(dropped, 1, () => void n++);
  t.is(n, 4);
});

test.serial('augmentation is a pure function of (seed, epoch, index): two loaders give identical batches', async (t) => {
  const ds = new ShapesDataset({ count: 9, seed: 1 });
  const mk = (seed: number) => new DataLoader(ds, { batchSize: 4, shuffle: true, seed, transforms: [new RandomCrop({ scale: [0.5, 0.9] }), new Resize({ maxSize: 40 })] });
  const grab = async (l: DataLoader, epoch: number) => {
    const out: { img: Float32Array; targets: unknown }[] = [];
    await collect(l, epoch, (b) => void out.push({ img: b.images.dataSync() as Float32Array, targets: b.targets }));
    return out;
  };
  const x = await grab(mk(5), 2);
  t.deepEqual(await grab(mk(5), 2), x);
  t.notDeepEqual(await grab(mk(5), 3), x);
  for (const b of x) for (const tg of b.targets as { origHeight: number; width: number; height: number }[]) {
    t.is(tg.origHeight, 64);
    t.is(Math.max(tg.width, tg.height), 40);
  }
});

test.serial('prefetch: batch k+1 is requested before batch k is handed out; early break leaks nothing', async (t) => {
  const ds = new SizedDataset(Array.from({ length: 12 }, () => [3, 3] as [number, number]), 5);
  const loader = new DataLoader(ds, { batchSize: 3 });
  const before = tf.memory().numTensors;
  let k = 0;
  await collect(loader, 0, () => {
    const wantCalled = Math.min(12, (k + 2) * 3);
    t.is(ds.calls.length, wantCalled, `when batch ${k} arrives, samples of batch ${k + 1} are already requested`);
    k++;
  });
  t.is(k, 4);
  const noPrefetch = new SizedDataset(Array.from({ length: 6 }, () => [3, 3] as [number, number]));
  await collect(new DataLoader(noPrefetch, { batchSize: 3, prefetch: 0 }), 0, () => {
    t.is(noPrefetch.calls.length % 3, 0);
    t.true(noPrefetch.calls.length <= 3 || noPrefetch.calls.length === 6);
  });
  for await (const b of loader.batches(1)) {
    tf.dispose([b.images, b.masks]);
    break;
  }
  await new Promise((r) => setTimeout(r, 30));
  t.is(tf.memory().numTensors, before);
});

test.serial('dataset errors surface on the batch that needs them', async (t) => {
  const bad: Dataset = { length: 4, classNames: ['x'], get: (i) => (i === 2 ? Promise.reject(new Error('boom 2')) : new SizedDataset([[2, 2]]).get(0)) };
  const loader = new DataLoader(bad, { batchSize: 2 });
  let got = 0;
  await t.throwsAsync(collect(loader, 0, () => void got++), { message: 'boom 2' });
  t.is(got, 1);
});

test.serial('registry seam: ctx.build("loader", { type: "default", dataset, transforms: [{type}] })', async (t) => {
  const factories = new Map<string, Factory>();
  const rng = createRng(77);
  const services = { logger: { debug() {}, info() {}, warn() {}, error() {} }, rng, backend: 'cpu', events$: undefined as never };
  const ctx: BuildContext = {
    services,
    build: async <T,>(kind: string, cfg: TypedConfig): Promise<T> => {
      const f = factories.get(`${kind}/${cfg.type}`);
      if (!f) throw new Error(`unknown ${kind}/${cfg.type}`);
      const { type: _t, ...params } = cfg;
      return (await f(params, ctx)) as T;
    },
  };
  const plugin: PluginContext = { services, register: (kind, name, factory) => void factories.set(`${kind}/${name}`, factory as Factory) };
  registerDatasets(plugin);
  t.deepEqual([...factories.keys()].sort(), [
    'dataset/coco', 'dataset/images', 'dataset/mnist-detection', 'dataset/shapes', 'loader/default',
    'transform/color-jitter', 'transform/normalize', 'transform/random-crop', 'transform/random-flip', 'transform/resize',
  ]);
  const dataset = await ctx.build<Dataset>('dataset', { type: 'mnist-detection', split: 'val', count: 10, seed: 1 });
  const loader = await ctx.build<DataLoader>('loader', {
    type: 'default', dataset, batchSize: 4, shuffle: true, split: 'train',
    transforms: [{ type: 'random-flip' }, { type: 'resize', maxSize: 32 }],
  });
  t.is(loader.length, 3);
  t.is(loader.seed, 77, 'seed defaults to the run RNG seed');
  let n = 0;
  await collect(loader, 0, (b) => {
    n += b.targets.length;
    t.deepEqual(b.images.shape.slice(1), [32, 32, 3]);
  });
  t.is(n, 10);
  await t.throwsAsync(ctx.build('loader', { type: 'default', dataset, batchSize: 0 }), { message: /'batchSize' must be >= 1/ });
  await t.throwsAsync(ctx.build('loader', { type: 'default', dataset: 3, batchSize: 2 }), { message: /'dataset' must be a built Dataset/ });
});

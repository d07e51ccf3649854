import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import { ResNet, SmallCnn, downsampleMask } from '../src/detectors.js';
import { rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

test('downsampleMask equals nearest-neighbour floor(i * H / h) by brute force', (t) => {
  const r = rng(4);
  const [B, H, W] = [2, 13, 10];
  const m = Float32Array.from({ length: B * H * W }, () => (r() < 0.6 ? 1 : 0));
  for (const [h, w] of [[4, 3], [7, 5], [13, 10], [2, 2]] as const) {
    const got = tf.tidy(() => downsampleMask(tf.tensor3d(m, [B, H, W]), h, w).dataSync());
    for (let b = 0; b < B; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const si = Math.floor((i * H) / h), sj = Math.floor((j * W) / w);
      t.is(got[(b * h + i) * w + j], m[(b * H + si) * W + sj], `${h}x${w} at ${b},${i},${j}`);
    }
  }
});

test('resnet shapes, strides, multi-scale outputs and torchvision names (basic and bottleneck)', (t) => {
  const images = tf.randomUniform([2, 64, 48, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const masks = tf.ones([2, 64, 48]) as tf.Tensor3D;
  const r18 = new ResNet({ depth: 18, baseWidth: 8, returnStages: [1, 3], seed: 1 });
  t.deepEqual(r18.outChannels, [16, 64]);
  t.deepEqual(r18.strides, [8, 32]);
  tf.tidy(() => {
    const out = r18.forward(images, masks);
    t.deepEqual(out.map((o) => o.features.shape), [[2, 8, 6, 16], [2, 2, 2, 64]]);
    t.deepEqual(out.map((o) => o.mask.shape), [[2, 8, 6], [2, 2, 2]]);
  });
  const names = r18.namedParameters().map(([n]) => n);
  t.true(names.includes('layer2.0.downsample.0.weight') && names.includes('layer4.1.bn2.weight') && names.includes('conv1.weight'));
  t.is(names.filter((n) => /^layer\d\.\d+\.conv1\.weight$/.test(n)).length, 8); // ResNet-18: 2+2+2+2 blocks
  const r50 = new ResNet({ depth: 50, baseWidth: 4, blocks: [1, 1, 1], seed: 2 });
  t.deepEqual(r50.outChannels, [64]); // 4 * 2^2 * 4
  tf.tidy(() => t.deepEqual(r50.forward(images, masks)[0]!.features.shape, [2, 4, 3, 64]));
  t.is(new ResNet({ depth: 34, baseWidth: 4 }).namedParameters().filter(([n]) => /conv1\.weight$/.test(n)).length, 1 + 16);
  r18.dispose();
  r50.dispose();
  images.dispose();
  masks.dispose();
});

test('frozen batch norm has no trainable parameters and keeps its statistics; trainable BN updates them', (t) => {
  const x = tf.randomNormal([2, 32, 32, 3], 2, 3, 'float32', 5) as tf.Tensor4D;
  const mask = tf.ones([2, 32, 32]) as tf.Tensor3D;
  const frozen = new ResNet({ depth: 18, baseWidth: 4, blocks: [1, 1], norm: 'frozen', seed: 1 });
  t.false(frozen.trainableParameters().some(([n]) => /bn|downsample\.1/.test(n)));
  t.true(frozen.trainableParameters().some(([n]) => n === 'conv1.weight'));
  const live = new ResNet({ depth: 18, baseWidth: 4, blocks: [1, 1], seed: 1 });
  tf.tidy(() => {
    frozen.forward(x, mask);
    live.forward(x, mask);
  });
  const mean = (m: ResNet) => Array.from(m.stateDict().get('bn1.running_mean')!.dataSync());
  t.deepEqual(mean(frozen), [0, 0, 0, 0]);
  t.true(mean(live).some((v) => v !== 0));
  t.is(new ResNet({ depth: 18, baseWidth: 4, frozen: true }).trainableParameters().length, 0);
  frozen.dispose();
  live.dispose();
  x.dispose();
  mask.dispose();
});

test('small-cnn: stride 2^n, padding mask downsampled, gradients reach every conv', (t) => {
  const net = new SmallCnn({ channels: [4, 8, 8], seed: 3 });
  t.deepEqual([net.outChannels, net.strides], [[8], [8]]);
  const m = new Float32Array(2 * 32 * 24).fill(1);
  for (let i = 0; i < 32; i++) for (let j = 16; j < 24; j++) m[32 * 24 + i * 24 + j] = 0;
  tf.tidy(() => {
    const [o] = net.forward(tf.randomUniform([2, 32, 24, 3], 0, 1, 'float32', 2) as tf.Tensor4D, tf.tensor3d(m, [2, 32, 24]));
    t.deepEqual(o!.features.shape, [2, 4, 3, 8]);
    t.deepEqual(Array.from(o!.mask.dataSync()).slice(12), [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    const { grads } = tf.variableGrads(() => tf.sum(net.forward(tf.ones([1, 16, 16, 3]) as tf.Tensor4D, tf.ones([1, 16, 16]) as tf.Tensor3D)[0]!.features) as tf.Scalar);
    t.is(Object.keys(grads).length, 6);
  });
  net.dispose();
});

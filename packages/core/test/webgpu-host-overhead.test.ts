// The host-side patches of the webgpu backend (src/backend/webgpu/host-overhead.ts): uploads
// through queue.writeBuffer keep the queue's order, make no staging buffers; pipelines keep their
// bind group layout; the submit batch is set. Runs where an adapter exists (SwiftShader here and
// in CI), otherwise skipped with the reason printed.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { cutHostOverhead } from '../src/backend/webgpu/host-overhead.js';
import { silentLogger } from '../src/util/logger.js';

const probe = await probeBackend('webgpu');

type Device = { createBuffer: (...a: unknown[]) => unknown; createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown }; createShaderModule(d: { code: string }): unknown };

if (!probe.ok) {
  console.log(`webgpu host-overhead tests skipped: ${probe.why}`);
  test.skip(`webgpu host patches (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  test.serial('selecting webgpu applies every patch once and sets the submit batch', (t) => {
    t.deepEqual(cutHostOverhead(tf.backend()), ['upload', 'layouts', 'submit']);
    t.is(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'), 64);
  });

  test.serial('a buffer released while the unsubmitted encoder reads it is not overwritten by a later upload', async (t) => {
    // x's dispatch is recorded, not submitted; x is disposed; z (same size) is uploaded at once
    // by queue.writeBuffer. Had z taken x's buffer, y would read z's values.
    const n = 4096;
    const xs = Float32Array.from({ length: n }, (_, i) => i);
    const zs = Float32Array.from({ length: n }, (_, i) => -3 * i);
    const x = tf.tensor1d(xs);
    const y = tf.add(x, 1);
    x.dispose();
    const z = tf.tensor1d(zs);
    const w = tf.mul(z, 2);
    const [gy, gw] = await Promise.all([y.data(), w.data()]);
    t.deepEqual(Array.from(gy.slice(0, 4)), [1, 2, 3, 4]);
    t.true(gy.every((v, i) => v === i + 1), 'y = x + 1 everywhere');
    t.true(gw.every((v, i) => v === -6 * i), 'w = 2 z everywhere');
    tf.dispose([y, z, w]);
  });

  test.serial('uploads of host values (int32, bool, float32) make no staging buffers once the pool is warm', async (t) => {
    const device = (tf.backend() as unknown as { device: Device }).device;
    const step = (i: number) =>
      tf.tidy(() => {
        const f = tf.add(tf.tensor1d([i, i + 0.5, 2]), tf.scalar(i));
        const k = tf.cast(tf.add(tf.tensor1d([i, 2, 3], 'int32'), tf.scalar(1, 'int32')), 'float32');
        const m = tf.cast(tf.logicalAnd(tf.tensor1d([true, i % 2 === 0, false], 'bool'), tf.tensor1d([true, true, false], 'bool')), 'float32');
        return tf.concat([f, k, m]);
      });
    await step(0).data(); // fills the pool
    let created = 0;
    const stock = device.createBuffer;
    device.createBuffer = (...a: unknown[]) => (created++, stock.apply(device, a));
    try {
      for (let i = 1; i <= 20; i++) {
        const out = step(i);
        const got = Array.from(await out.data());
        t.deepEqual(got, [2 * i, 2 * i + 0.5, i + 2, i + 1, 3, 4, 1, i % 2 === 0 ? 1 : 0, 0], `iteration ${i}`);
        out.dispose();
      }
    } finally {
      device.createBuffer = stock;
    }
    // Each iteration uploads 6 tensors; tfjs's own path makes a staging buffer for each. The
    // reads' staging buffers remain (one per iteration).
    t.true(created <= 20, `createBuffer called ${created} times over 20 iterations`);
  });

  test.serial('a pipeline made after the patch hands out its first bind group layout every time', (t) => {
    const device = (tf.backend() as unknown as { device: Device }).device;
    const module = device.createShaderModule({ code: '@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@compute @workgroup_size(1) fn main() { a[0] = 1.0; }' });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    t.is(pipeline.getBindGroupLayout(0), pipeline.getBindGroupLayout(0));
  });
}

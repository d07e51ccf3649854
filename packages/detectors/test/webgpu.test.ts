// DAB-DETR on the webgpu backend against wasm (an independent implementation of every kernel):
// runs where an adapter exists (SwiftShader here and in CI), otherwise skipped with the reason.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { applyGradients, computeGradients, createOptimizer, selectBackend, silentLogger, trainStep, type Batch, type ForwardSteps, type LossTerms } from '@detkit/core';
import type { DabDetr } from '../src/detectors.js';
import { disposeBatch, tinyBatch, tinyDabDetr } from './detr-helpers.js';
import { scaledError } from '@detkit/core/testing';
import { hostParams, probeWebGpu, setParams } from './webgpu-helpers.js';

const probe = await probeWebGpu();

function model(): DabDetr {
  return tinyDabDetr();
}

/** The model's loss terms as the runner computes them (matching read asynchronously mid-pass). */
function* lossSteps(m: DabDetr, batch: Batch): ForwardSteps<LossTerms> {
  return (yield* m.forwardTrainSteps(batch)).losses;
}

/** Parameters whose gradients are compared: backbone, encoder, decoder attention, heads, anchors. */
const NAMED = [
  'backbone.convs.0.weight',
  'transformer.encoder.layers.0.self_attn.in_proj_weight',
  'transformer.decoder.layers.1.cross_attn.out_proj.weight',
  'class_embed.weight',
  'bbox_embed.layers.0.weight',
  'refpoint_embed.weight',
];

interface StepFigures {
  losses: Record<string, number>;
  grads: Map<string, Float32Array>;
  after: Map<string, Float32Array>;
}

/** Forward + backward + one AdamW step on the active backend, from the given weights. */
async function oneStep(weights: Map<string, Float32Array>): Promise<StepFigures> {
  const m = model();
  setParams(m, weights);
  m.train();
  const batch = tinyBatch(2, 32, 7);
  const params = m.trainableParameters();
  const opt = createOptimizer({ type: 'adamw', lr: 1e-3, weightDecay: 1e-4 }, params);
  try {
    const computed = await computeGradients(params, () => lossSteps(m, batch));
    const grads = new Map<string, Float32Array>();
    for (const n of NAMED) grads.set(n, (await computed.grads.get(n)!.data()) as Float32Array);
    const { losses } = await applyGradients(computed, opt, 1e-3, 0.1);
    return { losses, grads, after: await hostParams(m) };
  } finally {
    opt.dispose();
    disposeBatch(batch);
    m.dispose();
  }
}

if (!probe.ok) {
  console.log(`webgpu tests skipped: ${probe.why}`);
  test.skip(`webgpu parity (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.serial(`DAB-DETR forward and one training step on webgpu match wasm to 1e-4 (${probe.adapter})`, async (t) => {
    await selectBackend({ backend: 'wasm', logger: silentLogger });
    const init = model();
    const weights = await hostParams(init);
    init.dispose();
    const want = await oneStep(weights);
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
    const got = await oneStep(weights);
    t.deepEqual(Object.keys(got.losses), Object.keys(want.losses));
    for (const [name, v] of Object.entries(want.losses)) {
      t.true(Math.abs(got.losses[name]! - v) <= 1e-4 * Math.max(Math.abs(v), 1e-3), `${name}: webgpu ${got.losses[name]} vs wasm ${v}`);
    }
    for (const n of NAMED) {
      const e = scaledError(got.grads.get(n)!, want.grads.get(n)!);
      t.true(e <= 1e-4, `gradient of ${n}: scaled error ${e.toExponential(2)}`);
    }
    for (const n of NAMED) {
      const e = scaledError(got.after.get(n)!, want.after.get(n)!);
      t.true(e <= 1e-4, `${n} after the AdamW step: scaled error ${e.toExponential(2)}`);
    }
  });

  test.serial('webgpu: the tensor count stays flat over 20 training iterations', async (t) => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
    const m = model();
    m.train();
    const params = m.trainableParameters();
    const opt = createOptimizer({ type: 'adamw', lr: 1e-3, weightDecay: 1e-4 }, params);
    const batches: Batch[] = [tinyBatch(2, 32, 1), tinyBatch(2, 32, 2)];
    const counts: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const out = await trainStep(params, () => lossSteps(m, batches[i % 2]!), opt, 1e-3, 0.1);
      losses.push(out.totalLoss);
      counts.push(tf.memory().numTensors);
    }
    t.true(losses.every(Number.isFinite));
    t.is(counts[19], counts[1], `tensor counts ${counts.join(' ')}`);
    opt.dispose();
    batches.forEach(disposeBatch);
    m.dispose();
  });
}

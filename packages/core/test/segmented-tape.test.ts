import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { registerTfjsGradients } from '../src/backend/gradients.js';
import type { ForwardSteps } from '../src/runner/forward-steps.js';
import { runStepsSync } from '../src/runner/forward-steps.js';
import { HostReader, recordSteps } from '../src/runner/host-reader.js';
import { SegmentedTape } from '../src/runner/segmented-tape.js';
import { computeGradients } from '../src/runner/train-step.js';

test.before(async () => {
  await registerTfjsGradients();
  await tf.setBackend('cpu');
});

type EngineState = { gradientDepth: number; activeTape: unknown; scopeStack: unknown[] };
const engineState = () => (tf.engine() as unknown as { state: EngineState }).state;

/** A loss whose second half depends on values read mid-pass (as DETR's matching does). */
function* lossSteps(w: tf.Variable, u: tf.Variable): ForwardSteps<{ l: tf.Scalar }> {
  const h = tf.tanh(tf.matMul(w, u)); // [3,1]
  const [values] = yield [h];
  const pick = values!.indexOf(Math.max(...values!)); // a host decision, like a matching
  const picked = tf.reshape(tf.slice(h, [pick, 0], [1, 1]), []);
  return { l: tf.add(tf.sum(tf.square(h)), tf.mul(picked, 3)) as tf.Scalar };
}

function vars() {
  return [tf.variable(tf.tensor2d([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]])), tf.variable(tf.tensor2d([[0.7], [-0.3]]))] as const;
}

test.serial('gradients across a mid-pass await equal one uninterrupted tf.variableGrads (exactly)', async (t) => {
  const [w, u] = vars();
  const expected = tf.variableGrads(() => runStepsSync(lossSteps(w, u)).l, [w, u]);
  const before = tf.memory().numTensors;
  const got = await computeGradients([['w', w], ['u', u]], () => lossSteps(w, u));
  t.deepEqual(Array.from(await got.grads.get('w')!.data()), Array.from(await expected.grads[w.name]!.data()));
  t.deepEqual(Array.from(await got.grads.get('u')!.data()), Array.from(await expected.grads[u.name]!.data()));
  t.is((await got.readout.data())[1], (await expected.value.data())[0], 'readout [term, total]');
  tf.dispose([got.readout, ...got.grads.values()]);
  t.is(tf.memory().numTensors, before, 'nothing left but what was returned');
  tf.dispose([expected.value, ...Object.values(expected.grads), w, u]);
});

test.serial('while paused the engine is idle: a tensor made by another task is neither taped nor freed with the step', async (t) => {
  const [w, u] = vars();
  const depth = engineState().scopeStack.length;
  let outsider: tf.Tensor | undefined;
  const tape = new SegmentedTape();
  const steps = (function* (): ForwardSteps<tf.Scalar> {
    const h = tf.sum(tf.matMul(w, u));
    yield [h];
    return h as tf.Scalar;
  })();
  const read = new HostReader();
  const pending = recordSteps(tape, steps, {
    read: async (ts: readonly tf.Tensor[]) => {
      t.is(engineState().gradientDepth, 0);
      t.is(engineState().activeTape ?? null, null);
      t.is(engineState().scopeStack.length, depth);
      outsider = tf.mul(w, 2); // e.g. a prefetching loader or an event subscriber
      return read.read(ts);
    },
  } as HostReader);
  const y = await pending;
  const grads = tape.gradients(y, [w, u]);
  tape.close();
  t.false(outsider!.isDisposed, 'not tracked in the step scope');
  t.true(y.isDisposed, 'the step scope freed its own tensors');
  t.is(Object.keys(grads).length, 2);
  tf.dispose([outsider!, ...Object.values(grads), w, u]);
});

test.serial('a throwing segment leaves the engine clean and leaks nothing', async (t) => {
  const [w, u] = vars();
  const before = tf.memory().numTensors;
  const depth = engineState().scopeStack.length;
  const boom = function* (): ForwardSteps<{ l: tf.Scalar }> {
    const h = tf.matMul(w, u);
    yield [h];
    tf.square(h);
    throw new Error('boom after the read');
  };
  await t.throwsAsync(computeGradients([['w', w], ['u', u]], boom), { message: /boom/ });
  t.is(tf.memory().numTensors, before);
  t.is(engineState().gradientDepth, 0);
  t.is(engineState().activeTape ?? null, null);
  t.is(engineState().scopeStack.length, depth);
  tf.dispose([w, u]);
});

test.serial('a tape cannot start inside another one', (t) => {
  const [w] = vars();
  t.throws(() => tf.variableGrads(() => (new SegmentedTape(), tf.sum(w)) as tf.Scalar, [w]), { message: /another gradient tape/ });
  t.is(engineState().gradientDepth, 0);
  w.dispose();
});

test.serial('HostReader packs float32 tensors into one device read and caches by tensor', async (t) => {
  const backend = tf.backend() as unknown as { read(id: object): Promise<unknown> };
  const original = backend.read;
  let reads = 0;
  backend.read = function (this: unknown, id: object) {
    reads++;
    return original.call(this, id);
  };
  try {
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.tensor1d([5, 6, 7]);
    const i = tf.tensor1d([8, 9], 'int32');
    const reader = new HostReader();
    const [va, vb, vi] = await reader.read([a, b, i]);
    t.deepEqual([Array.from(va!), Array.from(vb!), Array.from(vi!)], [[1, 2, 3, 4], [5, 6, 7], [8, 9]]);
    t.is(reads, 2, 'one packed float32 read + one int32 read');
    const [again] = await reader.read([b]);
    t.deepEqual(Array.from(again!), [5, 6, 7]);
    t.is(reads, 2, 'cached');
    tf.dispose([a, b, i]);
  } finally {
    backend.read = original;
  }
});

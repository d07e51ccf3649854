import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import type { QueryGroupDetector } from '@detkit/detectors';
import { ConsistentPointsDistillation, GeneralSampler, HungarianLogitsDistillation, resolveKdLossOptions, SpecificSampler } from '../src/kd-detr.js';
import { tinyBatch } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** A teacher stand-in: anchors as a real one has, and a decode that fails as a broken teacher would. */
function failingTeacher(fail: 'decode' | 'read'): QueryGroupDetector {
  const anchors = tf.zeros([3, 4]) as tf.Tensor2D;
  return {
    numClasses: 3,
    detectionQueries: () => ({ anchors }),
    encode: (images: tf.Tensor4D) => ({ memory: tf.mean(images, [1, 2], true) }),
    decode: () => {
      if (fail === 'decode') throw new Error('teacher decode failed');
      const logits = tf.zeros([2, 3, 3]) as tf.Tensor3D;
      const boxes = tf.fill([2, 3, 4], 0.5) as tf.Tensor3D;
      // The device read of these outputs fails (a lost device, say).
      boxes.data = () => Promise.reject(new Error('device read failed'));
      return { detection: { logits: [logits], boxes: [boxes] }, groups: [] };
    },
  } as unknown as QueryGroupDetector;
}

test.serial('kd-detr: a teacher that throws while preparing leaks neither the sampled points nor its outputs', async (t) => {
  const method = new ConsistentPointsDistillation([new GeneralSampler({ count: 4, seed: 1 }), new SpecificSampler()], resolveKdLossOptions());
  const teacher = failingTeacher('decode');
  const batch = tinyBatch();
  const before = tf.memory().numTensors;
  await t.throwsAsync(method.prepare({ teacher, batch, iter: 0 }), { message: /teacher decode failed/ });
  t.is(tf.memory().numTensors, before);
});

test.serial('hungarian-logits: a failed read of the teacher\'s outputs frees them', async (t) => {
  const method = new HungarianLogitsDistillation(resolveKdLossOptions());
  const teacher = failingTeacher('read');
  const batch = tinyBatch();
  const before = tf.memory().numTensors;
  await t.throwsAsync(method.prepare({ teacher, batch, iter: 0 }), { message: /device read failed/ });
  t.is(tf.memory().numTensors, before);
});

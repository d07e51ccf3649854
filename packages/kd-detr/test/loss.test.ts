import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { foregroundWeights, kdGroupLosses, kdPointLoss, klDivWithTemperature, resolveKdLossOptions, type PointOutputs } from '../src/kd-detr.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** float64 KL(softmax(t/T) || softmax(s/T)) averaged over classes, times T^2 (the reference's per-point term). */
function kl64(t: number[], s: number[], T: number): number {
  const sm = (v: number[]) => {
    const m = Math.max(...v.map((x) => x / T));
    const e = v.map((x) => Math.exp(x / T - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  };
  const pt = sm(t);
  const ps = sm(s);
  return (pt.reduce((acc, p, c) => acc + p * (Math.log(p) - Math.log(ps[c]!)), 0) / t.length) * T * T;
}

function giou64(a: number[], b: number[]): number {
  const xy = (v: number[]) => [v[0]! - v[2]! / 2, v[1]! - v[3]! / 2, v[0]! + v[2]! / 2, v[1]! + v[3]! / 2];
  const [a0, a1, a2, a3] = xy(a);
  const [b0, b1, b2, b3] = xy(b);
  const inter = Math.max(0, Math.min(a2!, b2!) - Math.max(a0!, b0!)) * Math.max(0, Math.min(a3!, b3!) - Math.max(a1!, b1!));
  const union = (a2! - a0!) * (a3! - a1!) + (b2! - b0!) * (b3! - b1!) - inter;
  const enc = (Math.max(a2!, b2!) - Math.min(a0!, b0!)) * (Math.max(a3!, b3!) - Math.min(a1!, b1!));
  return inter / union - (enc - union) / enc;
}

const rand = (seed: number) => {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
};

/** Random teacher/student outputs `[b,m,c]` / `[b,m,4]` with plain-array copies. */
function outputs(b: number, m: number, c: number, seed: number) {
  const r = rand(seed);
  const logits = Array.from({ length: b * m * c }, () => 8 * r() - 5);
  const boxes = Array.from({ length: b * m }, () => [0.2 + 0.6 * r(), 0.2 + 0.6 * r(), 0.1 + 0.3 * r(), 0.1 + 0.3 * r()]).flat();
  return { logits, boxes, t: { logits: tf.tensor3d(logits, [b, m, c]), boxes: tf.tensor3d(boxes, [b, m, 4]) } as PointOutputs };
}

test('the loss matches a float64 computation of the specification (weighted KL, L1, GIoU)', (t) => {
  const [b, m, c] = [2, 5, 4];
  const te = outputs(b, m, c, 3);
  const st = outputs(b, m, c, 7);
  for (const fg of [true, false]) {
    for (const klNormalizer of ['weights', 'sum', 'batch', 'points'] as const) {
      const opts = resolveKdLossOptions({ foregroundWeighting: fg, klNormalizer });
      const got = kdPointLoss(te.t, st.t, opts);
      let sw = 0, skl = 0, sl1 = 0, sg = 0;
      for (let i = 0; i < b * m; i++) {
        const tl = te.logits.slice(i * c, i * c + c);
        const w = fg ? Math.max(...tl.map(sigmoid)) : 1;
        const tb = te.boxes.slice(4 * i, 4 * i + 4);
        const sb = st.boxes.slice(4 * i, 4 * i + 4);
        sw += w;
        skl += w * kl64(tl, st.logits.slice(i * c, i * c + c), 10);
        sl1 += (w * tb.reduce((acc, v, k) => acc + Math.abs(v - sb[k]!), 0)) / 4;
        sg += w * (1 - giou64(sb, tb));
      }
      const klDiv = { weights: sw, sum: 1, batch: b, points: b * m }[klNormalizer];
      const close = (x: number, y: number, what: string) => t.true(Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y)), `${what} (fg ${fg}, ${klNormalizer}): ${x} vs ${y}`);
      close(got.cls!.dataSync()[0]!, skl / klDiv, 'cls');
      close(got.l1!.dataSync()[0]!, (5 * sl1) / sw, 'l1');
      close(got.giou!.dataSync()[0]!, (2 * sg) / sw, 'giou');
    }
  }
});

test('foreground weights: a hand-worked example', (t) => {
  // sigmoid(ln 3) = 0.75; sigmoid(0) = 0.5; sigmoid(-ln 3) = 0.25.
  const w = foregroundWeights(tf.tensor2d([[0, Math.log(3), -2], [-Math.log(3), -5, 0]])).dataSync();
  t.true(Math.abs(w[0]! - 0.75) < 1e-6 && Math.abs(w[1]! - 0.5) < 1e-6, `weights ${Array.from(w)}`);
  // L1 with those weights: point 0 off by 0.1 in every coordinate, point 1 by 0.3:
  // sum w l1 / sum w = (0.75 * 0.1 + 0.5 * 0.3) / 1.25 = 0.18, times lambda 5 = 0.9.
  const teacher: PointOutputs = { logits: tf.tensor3d([[[0, Math.log(3), -2], [-Math.log(3), -5, 0]]]), boxes: tf.tensor3d([[[0.5, 0.5, 0.2, 0.2], [0.4, 0.4, 0.4, 0.4]]]) };
  const student: PointOutputs = { logits: tf.zeros([1, 2, 3]) as tf.Tensor3D, boxes: tf.tensor3d([[[0.6, 0.6, 0.3, 0.3], [0.7, 0.7, 0.7, 0.7]]]) };
  const l1 = kdPointLoss(teacher, student, resolveKdLossOptions({ weights: { cls: 0, giou: 0 } }));
  t.true(Math.abs(l1.l1!.dataSync()[0]! - 0.9) < 1e-5, `l1 ${l1.l1!.dataSync()[0]}`);
  t.is(l1.cls, undefined);
  t.is(l1.giou, undefined);
  // Switched off: a plain mean (0.1 + 0.3) / 2 = 0.2, times 5 = 1.
  const flat = kdPointLoss(teacher, student, resolveKdLossOptions({ weights: { cls: 0, giou: 0 }, foregroundWeighting: false }));
  t.true(Math.abs(flat.l1!.dataSync()[0]! - 1) < 1e-5);
});

test('the KL term is zero when student logits equal teacher logits, and its gradient matches finite differences', (t) => {
  const [b, m, c] = [1, 3, 4];
  const te = outputs(b, m, c, 11);
  const same = kdPointLoss(te.t, { logits: te.t.logits.clone(), boxes: te.t.boxes.clone() }, resolveKdLossOptions());
  t.true(Math.abs(same.cls!.dataSync()[0]!) < 1e-6, `KL ${same.cls!.dataSync()[0]}`);
  t.true(Math.abs(same.l1!.dataSync()[0]!) < 1e-6 && Math.abs(same.giou!.dataSync()[0]!) < 1e-5);

  const st = outputs(b, m, c, 13);
  const opts = resolveKdLossOptions({ weights: { l1: 0, giou: 0 }, klNormalizer: 'sum', temperature: 2 });
  const x = tf.variable(st.t.logits);
  const { grads } = tf.variableGrads(() => kdPointLoss(te.t, { logits: x as unknown as tf.Tensor3D, boxes: st.t.boxes }, opts).cls!, [x]);
  const g = grads[x.name]!.dataSync();
  // Central differences of the float64 loss.
  const f = (s: number[]) => {
    let acc = 0;
    for (let i = 0; i < b * m; i++) {
      const tl = te.logits.slice(i * c, i * c + c);
      acc += Math.max(...tl.map(sigmoid)) * kl64(tl, s.slice(i * c, i * c + c), 2);
    }
    return acc;
  };
  const h = 1e-5;
  for (let k = 0; k < st.logits.length; k++) {
    const p = st.logits.slice();
    const q = st.logits.slice();
    p[k]! += h;
    q[k]! -= h;
    const fd = (f(p) - f(q)) / (2 * h);
    t.true(Math.abs(g[k]! - fd) < 1e-3 * Math.max(1, Math.abs(fd)), `d/ds[${k}]: ${g[k]} vs ${fd}`);
  }
  // And no gradient reaches the teacher's logits (they are detached).
  const tv = tf.variable(te.t.logits);
  const { grads: tg } = tf.variableGrads(() => kdPointLoss({ logits: tv as unknown as tf.Tensor3D, boxes: te.t.boxes }, st.t, opts).cls!, [tv]);
  t.deepEqual(Array.from(tg[tv.name]!.dataSync()), new Array(b * m * c).fill(0));
});

test('every student layer is supervised against the teacher FINAL layer, with per-layer names', (t) => {
  const [b, m, c] = [1, 4, 3];
  const teacherFinal = outputs(b, m, c, 21).t;
  const layer0 = outputs(b, m, c, 23).t;
  const layer1 = outputs(b, m, c, 29).t;
  // The student's last layer equals the teacher's final layer: its terms vanish; layer 0's do not.
  const student = { logits: [layer0.logits, teacherFinal.logits.clone(), layer1.logits], boxes: [layer0.boxes, teacherFinal.boxes.clone(), layer1.boxes] };
  const opts = resolveKdLossOptions();
  const terms = kdGroupLosses('general', teacherFinal, { logits: [student.logits[0]!, student.logits[2]!, student.logits[1]!], boxes: [student.boxes[0]!, student.boxes[2]!, student.boxes[1]!] }, opts);
  t.deepEqual(Object.keys(terms).sort(), ['kd_general_cls', 'kd_general_cls_0', 'kd_general_cls_1', 'kd_general_giou', 'kd_general_giou_0', 'kd_general_giou_1', 'kd_general_l1', 'kd_general_l1_0', 'kd_general_l1_1']);
  for (const k of ['cls', 'l1', 'giou']) t.true(Math.abs(terms[`kd_general_${k}`]!.dataSync()[0]!) < 1e-5, k);
  for (const [l, layer] of [[0, layer0], [1, layer1]] as const) {
    const ref = kdPointLoss(teacherFinal, layer, opts);
    for (const k of ['cls', 'l1', 'giou'] as const) {
      const got = terms[`kd_general_${k}_${l}`]!.dataSync()[0]!;
      t.true(got > 1e-3 && Math.abs(got - ref[k]!.dataSync()[0]!) < 1e-6, `${k}_${l}`);
    }
  }
});

test('zero points and mismatched shapes fail loudly', (t) => {
  const empty = { logits: tf.zeros([1, 0, 3]) as tf.Tensor3D, boxes: tf.zeros([1, 0, 4]) as tf.Tensor3D };
  t.throws(() => kdPointLoss(empty, empty, resolveKdLossOptions()), { message: /no distillation points/ });
  const a = outputs(1, 2, 3, 1).t;
  const bb = outputs(1, 3, 3, 2).t;
  t.throws(() => kdPointLoss(a, bb, resolveKdLossOptions()), { message: /differ in shape/ });
  t.throws(() => resolveKdLossOptions({ temperature: 0 }), { message: /temperature/ });
  t.throws(() => resolveKdLossOptions({ klNormalizer: 'mean' as never }), { message: /klNormalizer/ });
});

test('the box terms\' gradient w.r.t. the student boxes matches finite differences', (t) => {
  const [b, m, c] = [1, 3, 2];
  const te = outputs(b, m, c, 31);
  const st = outputs(b, m, c, 37);
  const opts = resolveKdLossOptions({ weights: { cls: 0 } });
  const x = tf.variable(st.t.boxes);
  const { grads } = tf.variableGrads(() => {
    const l = kdPointLoss(te.t, { logits: st.t.logits, boxes: x as unknown as tf.Tensor3D }, opts);
    return tf.add(l.l1!, l.giou!) as tf.Scalar;
  }, [x]);
  const g = grads[x.name]!.dataSync();
  const f = (sb: number[]) => {
    let sw = 0, acc = 0;
    for (let i = 0; i < b * m; i++) {
      const w = Math.max(...te.logits.slice(i * c, i * c + c).map(sigmoid));
      const tb = te.boxes.slice(4 * i, 4 * i + 4);
      const s = sb.slice(4 * i, 4 * i + 4);
      sw += w;
      acc += w * ((5 * tb.reduce((a, v, k) => a + Math.abs(v - s[k]!), 0)) / 4 + 2 * (1 - giou64(s, tb)));
    }
    return acc / sw;
  };
  const h = 1e-6;
  for (let k = 0; k < st.boxes.length; k++) {
    const p = st.boxes.slice();
    const q = st.boxes.slice();
    p[k]! += h;
    q[k]! -= h;
    const fd = (f(p) - f(q)) / (2 * h);
    t.true(Math.abs(g[k]! - fd) < 2e-3 * Math.max(1, Math.abs(fd)), `d/db[${k}]: ${g[k]} vs ${fd}`);
  }
});

test('klDivWithTemperature: per-point KL averaged over classes times T^2 vs float64, finite for extreme logits, typed errors', (t) => {
  const r = rand(44);
  const [n, c] = [7, 5];
  const tl = Array.from({ length: n * c }, () => r() * 10 - 5);
  const sl = Array.from({ length: n * c }, () => r() * 10 - 5);
  tl[0] = 500; // softmax(t/T) underflows to 0 in the other classes at T=1
  for (const temp of [1, 10]) {
    const got = tf.tidy(() => klDivWithTemperature(tf.tensor2d(tl, [n, c]), tf.tensor2d(sl, [n, c]), temp).dataSync().slice());
    t.is(got.length, n);
    for (let i = 0; i < n; i++) {
      const want = kl64(tl.slice(i * c, i * c + c), sl.slice(i * c, i * c + c), temp);
      t.true(Number.isFinite(got[i]!) && Math.abs(got[i]! - want) <= 1e-5 + 1e-4 * Math.abs(want), `T=${temp} point ${i}: ${got[i]} vs ${want}`);
    }
  }
  t.throws(() => klDivWithTemperature(tf.zeros([2, 3]), tf.zeros([2, 4]), 1), { message: /differ in shape/ });
  t.throws(() => klDivWithTemperature(tf.zeros([2, 3]), tf.zeros([2, 3]), 0), { message: /temperature/ });
});

// The small DETR of docs/tfjs-notes.md in plain tf ops, for timing a full training step:
// 4 stride-2 3x3 convs (3->32->64->128->128) on 128x128 images, 2 encoder + 2 decoder
// layers (d=128, 8 heads, FFN 512), 100 queries, class + box heads, CE + L1 loss.
import * as tf from '@tensorflow/tfjs-core';
import { randomTensor } from './timing.js';

export const D = 128;
const HEADS = 8;
const FFN = 512;
export const QUERIES = 100;
export const CLASSES = 11; // 10 digits + no-object

type V = tf.Variable;
let seed = 1;
const param = (shape: number[], scale: number): V => tf.variable(tf.mul(randomTensor(shape, seed++), scale));
const zeros = (shape: number[]): V => tf.variable(tf.zeros(shape));
const ones = (shape: number[]): V => tf.variable(tf.ones(shape));

interface Linear { w: V; b: V }
const linear = (i: number, o: number): Linear => ({ w: param([i, o], Math.sqrt(3 / i)), b: zeros([o]) });
/** x [..., i] -> [..., o]; 2-D matmul (a rank-3 by rank-2 matMul returns a wrong weight gradient shape). */
function applyLinear(l: Linear, x: tf.Tensor): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.add(tf.matMul(tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]), l.w), l.b);
  return tf.reshape(y, [...lead, l.w.shape[1]!]);
}

interface Norm { g: V; b: V }
const norm = (): Norm => ({ g: ones([D]), b: zeros([D]) });
function layerNorm(n: Norm, x: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), n.g), n.b);
}

interface Attention { q: Linear; k: Linear; v: Linear; o: Linear }
const attention = (): Attention => ({ q: linear(D, D), k: linear(D, D), v: linear(D, D), o: linear(D, D) });
function heads(x: tf.Tensor): tf.Tensor {
  const [b, t] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [b, t, HEADS, D / HEADS]), [0, 2, 1, 3]);
}
function applyAttention(a: Attention, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const [b, t] = q.shape as [number, number, number];
  const qh = heads(applyLinear(a.q, q));
  const kh = heads(applyLinear(a.k, k));
  const vh = heads(applyLinear(a.v, v));
  const weights = tf.softmax(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(D / HEADS)));
  const out = tf.reshape(tf.transpose(tf.matMul(weights, vh), [0, 2, 1, 3]), [b, t, D]);
  return applyLinear(a.o, out);
}

interface Ffn { l1: Linear; l2: Linear }
const ffn = (): Ffn => ({ l1: linear(D, FFN), l2: linear(FFN, D) });
const applyFfn = (f: Ffn, x: tf.Tensor) => applyLinear(f.l2, tf.relu(applyLinear(f.l1, x)));

interface EncoderLayer { attn: Attention; n1: Norm; ffn: Ffn; n2: Norm }
interface DecoderLayer { self: Attention; n1: Norm; cross: Attention; n2: Norm; ffn: Ffn; n3: Norm }

export interface BenchDetr {
  backbone: V[];
  transformer: V[];
  forwardLoss(images: tf.Tensor4D, labels: tf.Tensor, boxes: tf.Tensor): tf.Scalar;
}

export function buildBenchDetr(): BenchDetr {
  seed = 1;
  const chans = [3, 32, 64, 128, D];
  const convs = chans.slice(1).map((c, i) => ({ w: param([3, 3, chans[i]!, c], Math.sqrt(6 / (9 * chans[i]!))), b: zeros([c]) }));
  const pos = param([64, D], 0.1);
  const queryPos = param([QUERIES, D], 0.1);
  const enc: EncoderLayer[] = [0, 1].map(() => ({ attn: attention(), n1: norm(), ffn: ffn(), n2: norm() }));
  const dec: DecoderLayer[] = [0, 1].map(() => ({ self: attention(), n1: norm(), cross: attention(), n2: norm(), ffn: ffn(), n3: norm() }));
  const cls = linear(D, CLASSES);
  const box1 = linear(D, D);
  const box2 = linear(D, 4);

  const forwardLoss = (images: tf.Tensor4D, labels: tf.Tensor, boxes: tf.Tensor): tf.Scalar => {
    let x: tf.Tensor4D = images;
    for (const c of convs) x = tf.relu(tf.add(tf.conv2d(x, c.w as tf.Tensor4D, 2, 'same'), c.b)) as tf.Tensor4D;
    const b = x.shape[0];
    let mem = tf.add(tf.reshape(x, [b, -1, D]), pos); // [B, 64, D]
    for (const l of enc) {
      mem = layerNorm(l.n1, tf.add(mem, applyAttention(l.attn, mem, mem, mem)));
      mem = layerNorm(l.n2, tf.add(mem, applyFfn(l.ffn, mem)));
    }
    const qp = tf.tile(tf.expandDims(queryPos, 0), [b, 1, 1]);
    let tgt: tf.Tensor = tf.zerosLike(qp);
    for (const l of dec) {
      const q = tf.add(tgt, qp);
      tgt = layerNorm(l.n1, tf.add(tgt, applyAttention(l.self, q, q, tgt)));
      tgt = layerNorm(l.n2, tf.add(tgt, applyAttention(l.cross, tf.add(tgt, qp), mem, mem)));
      tgt = layerNorm(l.n3, tf.add(tgt, applyFfn(l.ffn, tgt)));
    }
    const logits = applyLinear(cls, tgt);
    const pred = tf.sigmoid(applyLinear(box2, tf.relu(applyLinear(box1, tgt))));
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(labels, [-1]), CLASSES), tf.reshape(logits, [-1, CLASSES]));
    const l1 = tf.mean(tf.abs(tf.sub(pred, boxes)));
    return tf.add(ce, tf.mul(l1, 5)) as tf.Scalar;
  };

  const transformer = [pos, queryPos, ...collect(enc), ...collect(dec), cls.w, cls.b, box1.w, box1.b, box2.w, box2.b];
  return { backbone: convs.flatMap((c) => [c.w, c.b]), transformer, forwardLoss };
}

/** Every tf.Variable inside a nested structure of layers. */
function collect(x: unknown): V[] {
  if (x instanceof tf.Variable) return [x];
  if (Array.isArray(x)) return x.flatMap(collect);
  if (x !== null && typeof x === 'object') return Object.values(x).flatMap(collect);
  return [];
}

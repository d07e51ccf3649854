// wasm kernel figures: matmul with/without transpose flags and batches (stock kernel vs
// detkit's override), conv filter gradient (our im2col+GEMM vs a transposed dilated conv vs
// cpu), and segment sum (heap row loop vs one-hot matmul).
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { installWasmKernels, selectBackend, uninstallWasmKernels } from '@detkit/core';
import { fmt, printTable, randomTensor, timeTensor, type Timing } from './timing.js';

const cell = (t: Timing) => `${fmt(t.min)} / ${fmt(t.med)}`;

async function matmuls(): Promise<void> {
  const cases: { label: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { label: '400x512 @ 512x128', a: [400, 512], b: [512, 128], ta: false, tb: false },
    { label: '  transposeB', a: [400, 512], b: [128, 512], ta: false, tb: true },
    { label: '  transposeA', a: [512, 400], b: [512, 128], ta: true, tb: false },
    { label: '  both', a: [512, 400], b: [128, 512], ta: true, tb: true },
    { label: '[4,100,512] @ [4,512,128]', a: [4, 100, 512], b: [4, 512, 128], ta: false, tb: false },
    { label: '[4,100,512] @ [512,128] bcast', a: [4, 100, 512], b: [1, 512, 128], ta: false, tb: false },
    { label: 'attn [32,100,16] @ [32,64,16]^T', a: [32, 100, 16], b: [32, 64, 16], ta: false, tb: true },
    { label: 'attn [32,100,64] @ [32,64,16]', a: [32, 100, 64], b: [32, 64, 16], ta: false, tb: false },
    { label: 'dW [400,512]^T @ [400,128]', a: [400, 512], b: [400, 128], ta: true, tb: false },
  ];
  const rows = [['matmul (ms min / median)', 'stock wasm', 'detkit wasm', 'speed-up']];
  const a = cases.map((c, i) => randomTensor(c.a, i + 1));
  const b = cases.map((c, i) => randomTensor(c.b, i + 101));
  const results: Timing[][] = cases.map(() => []);
  for (const install of [false, true]) {
    if (install) installWasmKernels();
    else uninstallWasmKernels();
    cases.forEach((c, i) => results[i]!.push(timeTensor(() => tf.matMul(a[i]!, b[i]!, c.ta, c.tb), 10, 3)));
  }
  cases.forEach((c, i) => {
    const [s, d] = results[i] as [Timing, Timing];
    rows.push([c.label, cell(s), cell(d), `${(s.min / d.min).toFixed(1)}x`]);
  });
  printTable('BatchMatMul on wasm', rows);
  // Weights change every training step, so XNNPACK re-packs b each time: measure a fresh b per call.
  const fresh = timeTensor(() => tf.matMul(a[0]!, tf.add(b[0]!, 0)), 10, 3);
  const addOnly = timeTensor(() => tf.add(b[0]!, 0), 10, 3);
  const conv1x1 = timeTensor(() => tf.conv2d(tf.reshape(a[0]!, [1, 1, 400, 512]) as tf.Tensor4D, tf.reshape(b[0]!, [1, 1, 512, 128]) as tf.Tensor4D, 1, 'valid'), 10, 3);
  console.log(`  400x512x128 with a fresh b each call (XNNPACK re-packs weights): ${cell(fresh)} ms (of which the copy making b fresh: ${cell(addOnly)})`);
  console.log(`  same product as a 1x1 Conv2D: ${cell(conv1x1)} ms`);
  tf.dispose([...a, ...b]);
}

/** The alternative filter gradient: conv of transposed input by transposed dy, stride<->dilation swapped. */
function filterGradViaConv(x: tf.Tensor4D, dy: tf.Tensor4D, f: number, s: number, pad: 'same' | 'valid'): tf.Tensor {
  const info = backend_util.computeConv2DInfo(x.shape, [f, f, x.shape[3], dy.shape[3]], s, 1, pad);
  const needH = (info.outHeight - 1) * s + f;
  const needW = (info.outWidth - 1) * s + f;
  const p = info.padInfo;
  const xp = tf.pad(x, [[0, 0], [p.top, Math.max(0, needH - p.top - x.shape[1])], [p.left, Math.max(0, needW - p.left - x.shape[2])], [0, 0]]);
  const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [C, Hp, Wp, N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Cout]
  const r = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [s, s]); // [C, >=f, >=f, Cout]
  return tf.transpose(tf.slice(r, [0, 0, 0, 0], [-1, f, f, -1]), [1, 2, 0, 3]);
}

function convGrads(): void {
  // The bench DETR's backbone: 3x3 stride-2 'same' convs.
  const layers: [number[], number][] = [[[4, 128, 128, 3], 32], [[4, 64, 64, 32], 64], [[4, 32, 32, 64], 128], [[4, 16, 16, 128], 128]];
  const rows = [['3x3 s2 filter grad (ms min / med)', 'forward conv', 'im2col+GEMM (ours)', 'transposed conv', 'cpu (1 run)']];
  for (const [i, [xs, cout]] of layers.entries()) {
    const x = randomTensor(xs, i + 1) as tf.Tensor4D;
    const w = randomTensor([3, 3, xs[3]!, cout], i + 7) as tf.Tensor4D;
    const dy = randomTensor([xs[0]!, xs[1]! / 2, xs[2]! / 2, cout], i + 13) as tf.Tensor4D;
    const fwd = timeTensor(() => tf.conv2d(x, w, 2, 'same'), 5, 2);
    const ours = timeTensor(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, xs[3]!, cout],
    } as never) as tf.Tensor, 5, 2);
    const alt = timeTensor(() => filterGradViaConv(x, dy, 3, 2, 'same'), 5, 2);
    let cpuMs = '-';
    if (i === layers.length - 1) { // the cpu kernel takes ~10-40 s per layer: one is enough
      tf.setBackend('cpu');
      const xc = randomTensor(xs, i + 1), dyc = randomTensor(dy.shape, i + 13);
      const t0 = performance.now();
      const r = tf.engine().runKernel('Conv2DBackpropFilter', { x: xc, dy: dyc }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, xs[3]!, cout] } as never) as tf.Tensor;
      r.dataSync();
      cpuMs = fmt(performance.now() - t0);
      tf.dispose([xc, dyc, r]);
      tf.setBackend('wasm');
    }
    rows.push([`x${JSON.stringify(xs)} -> ${cout}`, cell(fwd), cell(ours), cell(alt), cpuMs]);
    tf.dispose([x, w, dy]);
  }
  printTable('Conv2DBackpropFilter on wasm (stock wasm has none)', rows);
}

function segmentSums(): void {
  const rows = [['unsorted segment sum (ms min / med)', 'heap row loop (ours)', 'one-hot matmul']];
  for (const [n, rowSize, segs] of [[400, 256, 300], [4096, 128, 1000], [400, 4, 100]] as const) {
    const x = randomTensor([n, rowSize], 3);
    const ids = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => (i * 7919) % segs), 'int32');
    const ours = timeTensor(() => tf.unsortedSegmentSum(x, ids, segs), 10, 2);
    const oneHot = timeTensor(() => tf.matMul(tf.oneHot(ids, segs), x, true, false), 10, 2);
    rows.push([`${n} rows x ${rowSize} -> ${segs} segments`, cell(ours), cell(oneHot)]);
    tf.dispose([x, ids]);
  }
  printTable('UnsortedSegmentSum on wasm (gather gradient; stock wasm has none)', rows);
}

export async function run(parts = (process.env['BENCH_KERNELS'] ?? 'matmul,conv,segment').split(',')): Promise<void> {
  await selectBackend({ backend: 'wasm' });
  await tf.setBackend('cpu'); // initialise cpu once so switching later is cheap
  await tf.setBackend('wasm');
  if (parts.includes('matmul')) await matmuls();
  if (parts.includes('conv')) convGrads();
  if (parts.includes('segment')) segmentSums();
}

export const section = { name: 'kernels', run };

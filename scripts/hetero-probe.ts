// What a DETR teacher can teach a CNN student at the student's own proposals (#13): on validation
// images, a trained Faster R-CNN's top proposals are decoded by the teacher as queries (anchor =
// the proposal, zero content, as kd-detr-hetero does) and pooled by the student's RoI head. Prints,
// against the ground truth:
//   - at positive proposals (IoU >= 0.5 with a digit), by proposal IoU: the box IoU of the student's
//     box (for the true class) and of the teacher's, the class accuracy of each, the teacher's
//     confidence (the foreground weight);
//   - the proposals out of a RoI head's reach: the teacher's box overlaps the proposal by < 0.5.
//
//   npm run experiment:hetero-probe -- --student <faster-rcnn checkpoint> \
//     [--student-config configs/faster-rcnn/mnist.ts] [--teacher-config configs/deformable-detr/mnist-teacher.ts] \
//     [--teacher checkpoints/deformable-detr-mnist-teacher.safetensors] [--images 32] [--proposals 100]
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { buildDetector, loadModelWeights, type Batch } from '@detkit/core';
import type { QueryGroupDetector, RoiDistillable, RoiTrainOutputs } from '@detkit/detectors';
import { boxPairIou, cxcywhToXyxy64 } from '@detkit/detectors';
import { anchorsOfBoxes } from '@detkit/kd-detr';
import { setupDetector, trainBatches, type DetectorSetup } from '../bench/detector-setup.js';

const { values: args } = parseArgs({
  options: {
    student: { type: 'string' },
    'student-config': { type: 'string', default: 'configs/faster-rcnn/mnist.ts' },
    'teacher-config': { type: 'string', default: 'configs/deformable-detr/mnist-teacher.ts' },
    teacher: { type: 'string', default: 'checkpoints/deformable-detr-mnist-teacher.safetensors' },
    images: { type: 'string', default: '32' },
    proposals: { type: 'string', default: '100' },
  },
});
if (!args.student) throw new Error('hetero-probe: --student <Faster R-CNN checkpoint> is required');

async function trained<T>(config: string, checkpoint: string): Promise<{ model: T; setup: DetectorSetup }> {
  const setup = await setupDetector(config);
  const weights = await loadModelWeights(checkpoint);
  try {
    return { model: (await buildDetector(setup.registry, setup.config.model, weights, checkpoint)) as unknown as T, setup };
  } finally {
    weights.forEach((w) => w.dispose());
  }
}

const { model: teacher } = await trained<QueryGroupDetector>(args['teacher-config']!, args.teacher!);
const { model: student, setup } = await trained<RoiDistillable>(args['student-config']!, args.student);
const batchSize = 8;
// The validation split, through the training loader (unshuffled): the config's val dataset.
const valSetup = { ...setup, config: { ...setup.config, data: { ...setup.config.data, train: setup.config.data.val! } } };
const batches = await trainBatches(valSetup, { count: Math.ceil(Number(args.images) / batchSize), batchSize });

const argmax = (v: number[]) => v.indexOf(Math.max(...v));

interface Point { gtIou: number; studentIou: number; teacherIou: number; reach: number; weight: number; teacherRight: boolean; studentRight: boolean }
const points: Point[] = [];

function probe(batch: Batch): void {
  tf.tidy(() => {
    const { outputs } = student.forwardTrain(batch) as { outputs: RoiTrainOutputs };
    const proposals = student.distillationProposals!(outputs, Number(args.proposals));
    const m = Math.min(...proposals.map((p) => p.length / 4));
    const boxes = proposals.map((p) => p.subarray(0, 4 * m));
    const pred = student.predictAtBoxes(outputs.roiFeatures, { perImage: boxes });
    const anchors = tf.tensor3d(anchorsOfBoxes(Float32Array.from(boxes.flatMap((b) => Array.from(b)))), [boxes.length, m, 4]);
    const decoded = teacher.decode(teacher.encode(batch.images, batch.masks), [{ anchors }], { detection: false, finalLayerOnly: true }).groups[0]!;
    const [sLogits, sBoxes] = [pred.logits.arraySync(), pred.boxes.arraySync()];
    const tLogits = decoded.logits.at(-1)!.arraySync() as number[][][];
    const tBoxes = decoded.boxes.at(-1)!.dataSync();
    batch.targets.forEach((target, b) => {
      // xyxy on the host, for boxPairIou(a, i, b, j): the proposals, the teacher's boxes there, the digits.
      const props = cxcywhToXyxy64(boxes[b]!);
      const teacherBoxes = cxcywhToXyxy64(tBoxes.subarray(4 * m * b, 4 * m * (b + 1)));
      const gts = cxcywhToXyxy64(target.boxes);
      for (let i = 0; i < m; i++) {
        let gtIou = 0, j = -1;
        for (let k = 0; k < target.labels.length; k++) {
          const v = boxPairIou(props, i, gts, k);
          if (v > gtIou) [gtIou, j] = [v, k];
        }
        const tl = tLogits[b]![i]!;
        const point: Point = { gtIou, reach: boxPairIou(teacherBoxes, i, props, i), weight: 1 / (1 + Math.exp(-Math.max(...tl))), studentIou: NaN, teacherIou: NaN, teacherRight: false, studentRight: false };
        if (j >= 0) {
          const c = target.labels[j]!;
          point.studentIou = boxPairIou(cxcywhToXyxy64(sBoxes[b]![i]![c]!), 0, gts, j);
          point.teacherIou = boxPairIou(teacherBoxes, i, gts, j);
          point.teacherRight = argmax(tl) === c;
          point.studentRight = argmax(sLogits[b]![i]!.slice(0, -1)) === c;
        }
        points.push(point);
      }
    });
  });
}

for (const b of batches) {
  probe(b);
  tf.dispose([b.images, b.masks]);
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, v) => a + v, 0) / xs.length : NaN).toFixed(3);
console.log(`${points.length} proposals (top ${args.proposals} of ${batches.length * batchSize} validation images); student ${args.student}, teacher ${args.teacher}\n`);
console.log('| proposal IoU with the digit | n | student box IoU | teacher box IoU | teacher tighter | student class right | teacher class right | teacher confidence |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [lo, hi] of [[0.5, 0.7], [0.7, 0.85], [0.85, 1.01], [0.5, 1.01]] as const) {
  const r = points.filter((p) => p.gtIou >= lo && p.gtIou < hi);
  console.log(`| ${lo}-${Math.min(hi, 1)} | ${r.length} | ${mean(r.map((p) => p.studentIou))} | ${mean(r.map((p) => p.teacherIou))} | ${mean(r.map((p) => +(p.teacherIou > p.studentIou)))} | ${mean(r.map((p) => +p.studentRight))} | ${mean(r.map((p) => +p.teacherRight))} | ${mean(r.map((p) => p.weight))} |`);
}
const weight = (ps: Point[]) => ps.reduce((a, p) => a + p.weight, 0);
const far = points.filter((p) => p.reach < 0.5);
console.log(`\nOut of reach (IoU(teacher box, proposal) < 0.5): ${far.length} of ${points.length} proposals (${mean([far.length / points.length])}), ${mean([weight(far) / weight(points)])} of the foreground weight; ${far.filter((p) => p.gtIou >= 0.5).length} of them are positives.`);

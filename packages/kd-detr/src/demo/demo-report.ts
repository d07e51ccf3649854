import { join } from 'node:path';
import { writeFileAtomic, type Metrics } from '@detkit/core';
import { PALETTE, writeLineChartPng } from './chart.js';
import { writeDetectionGrid, type EvaluatedModel } from './evaluate.js';
import { metricsTable } from './report.js';
import type { TrainingResult } from './run-training.js';

export interface DemoReport {
  workDir: string;
  studentConfig: string;
  teacherConfig: string;
  teacherCheckpoint: string;
  iters: number;
  seed: number;
  batchSize: number;
  generalPoints: number;
  valCount: number;
  backend: string;
  schedule: string;
  classNames: string[];
  /** Teacher first, then the students in run order. */
  evaluated: EvaluatedModel[];
  /** The students' training results, in run order. */
  results: TrainingResult[];
}

/** Writes ap-vs-iter.png, detections.png and report.md into the demo's work dir. */
export async function writeDemoReport(r: DemoReport): Promise<string> {
  await writeLineChartPng(
    join(r.workDir, 'ap-vs-iter.png'),
    r.results.map((x, i) => ({ label: x.name, color: PALETTE[i]!, points: x.history.map((h) => [h.iter, 100 * (h.metrics.AP ?? 0)] as [number, number]) })),
    { title: 'MNIST-detection: validation AP during training', xLabel: 'iteration', yLabel: 'AP (%)' },
  );
  await writeDetectionGrid(join(r.workDir, 'detections.png'), r.evaluated, r.classNames);
  const rows = r.evaluated.map((e, i) => ({
    name: e.name,
    metrics: e.metrics,
    extra: i === 0 ? '' : `${r.results[i - 1]!.msPerIter.toFixed(0)} ms/it, ${(r.results[i - 1]!.wallSeconds / 60).toFixed(1)} min`,
  }));
  const text = [
    '# detkit demo: KD-DETR on MNIST-detection',
    '',
    `Student (${r.studentConfig}) trained ${r.iters} iterations twice with seed ${r.seed}, the same data order, batch size ${r.batchSize} and schedule (${r.schedule}): ` +
      `alone, and with KD-DETR (${r.generalPoints} general points + the teacher's queries, T=10, weights 1/5/2, foreground re-weighting) from the teacher ` +
      `(${r.teacherConfig}, weights ${r.teacherCheckpoint}). Validation: ${r.valCount} MNIST-detection images (digits from the official test split). Backend ${r.backend}.`,
    '',
    metricsTable(rows, 'training'),
    '',
    'AP values are COCO box AP in percent (pycocotools semantics).',
    '',
    '![validation AP against iteration](ap-vs-iter.png)',
    '',
    '![sample detections: ground truth green, predictions red](detections.png)',
    '',
  ].join('\n');
  const file = join(r.workDir, 'report.md');
  await writeFileAtomic(file, text);
  return file;
}

/** One line on what distillation did, judged on the AP values as printed (2 decimals) so it never contradicts them. */
export function verdictLine(alone: Metrics, distilled: Metrics): string {
  const [a, kd] = [alone.AP ?? 0, distilled.AP ?? 0].map((ap) => (100 * ap).toFixed(2));
  const verdict = Number(kd) > Number(a) ? 'improved' : kd === a ? 'did not change' : 'lowered';
  return `KD-DETR ${verdict} the student's AP (${a} -> ${kd}, at equal iterations)`;
}

// COCO evaluator speed: 5000 images x 100 detections x 80 classes (COCO-val-like GT: ~7 boxes
// per image, sizes spanning small/medium/large, ~1% crowd). Section for bench/index.ts, or run
// standalone:  node --conditions=source --import tsx bench/evaluator.ts
import { pathToFileURL } from 'node:url';
import { evaluateCoco, formatStats, type CocoEvalAnnotation, type CocoEvalGroundTruth, type CocoResult } from '@detkit/datasets';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/** A random but realistic COCO-sized problem: jittered true positives plus background boxes. */
export function makeProblem(images = 5000, detsPerImage = 100, classes = 80, seed = 1): { gt: CocoEvalGroundTruth; results: CocoResult[] } {
  const rand = lcg(seed);
  const W = 640, H = 480;
  const box = (): [number, number, number, number] => {
    const s = Math.exp(Math.log(8) + rand() * Math.log(400 / 8)); // log-uniform side 8..400 px
    const w = Math.min(W, s * (0.5 + rand())), h = Math.min(H, s * (0.5 + rand()));
    return [rand() * (W - w), rand() * (H - h), w, h];
  };
  const annotations: CocoEvalAnnotation[] = [];
  const results: CocoResult[] = [];
  for (let img = 1; img <= images; img++) {
    const nGt = Math.floor(rand() * 15);
    const imgClasses = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => 1 + Math.floor(rand() * classes));
    const mine: CocoEvalAnnotation[] = [];
    for (let j = 0; j < nGt; j++) {
      const b = box();
      const a = { id: annotations.length + 1, image_id: img, category_id: imgClasses[j % imgClasses.length], bbox: b, area: b[2] * b[3], iscrowd: rand() < 0.01 ? 1 : 0 };
      annotations.push(a);
      mine.push(a);
    }
    let n = 0;
    for (const a of mine) {
      for (let k = 0; k < 3 && n < detsPerImage; k++, n++) {
        const [x, y, w, h] = a.bbox;
        const j = () => (rand() - 0.5) * 0.25;
        results.push({ image_id: img, category_id: rand() < 0.9 ? a.category_id : 1 + Math.floor(rand() * classes), bbox: [x + j() * w, y + j() * h, w * (1 + j()), h * (1 + j())], score: 0.3 + 0.7 * rand() });
      }
    }
    for (; n < detsPerImage; n++) {
      const cat = rand() < 0.7 ? imgClasses[Math.floor(rand() * imgClasses.length)] : 1 + Math.floor(rand() * classes);
      results.push({ image_id: img, category_id: cat, bbox: box(), score: 0.6 * rand() });
    }
  }
  return {
    gt: { images: Array.from({ length: images }, (_, i) => ({ id: i + 1 })), annotations, categories: Array.from({ length: classes }, (_, c) => ({ id: c + 1, name: `class${c + 1}` })) },
    results,
  };
}

export async function run(): Promise<void> {
  const images = 5000, dets = 100, classes = 80;
  const { gt, results } = makeProblem(images, dets, classes);
  console.log(`evaluator: ${images} images, ${results.length} detections, ${gt.annotations.length} GT boxes, ${classes} classes`);
  const ts: number[] = [];
  let stats;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    stats = evaluateCoco(gt, results).stats;
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  console.log(`evaluator evaluateCoco: min ${(ts[0] / 1000).toFixed(2)} s, med ${(ts[1] / 1000).toFixed(2)} s (target < 10 s)`);
  console.log(formatStats(stats!).join('\n'));
}

export const section = { name: 'evaluator', run };

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();

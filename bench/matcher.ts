// Matcher speed: exact rectangular assignment at DETR sizes, and the full HungarianMatcher
// (cost matrix + assignment) for a batch. Section for bench/index.ts, or run standalone:
//   node --conditions=source --import tsx bench/matcher.ts
import { pathToFileURL } from 'node:url';
import { HungarianMatcher, linearSumAssignment } from '@detkit/detectors';
import { time } from './timing.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

export async function run(): Promise<void> {
  const rand = lcg(7);
  for (const [n, m] of [[300, 100], [300, 20], [900, 100], [100, 100]] as const) {
    const cost = Float64Array.from({ length: n * m }, rand);
    const t = time(() => linearSumAssignment(cost, n, m), 20, 3);
    console.log(`matcher lsap ${n}x${m}: med ${t.med.toFixed(2)} ms, min ${t.min.toFixed(2)} ms`);
  }
  // A DAB-DETR-sized batch: B=4 images, Q=300 queries, C=91 classes, 20 targets each.
  const b = 4, q = 300, c = 91, n = 20;
  const logits = Float32Array.from({ length: b * q * c }, () => rand() * 8 - 6);
  const boxes = Float32Array.from({ length: b * q * 4 }, (_, i) => (i % 4 < 2 ? rand() : 0.05 + 0.3 * rand()));
  const targets = Array.from({ length: b }, () => ({
    boxes: Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 < 2 ? rand() : 0.05 + 0.3 * rand())),
    labels: Int32Array.from({ length: n }, () => Math.floor(rand() * c)),
  }));
  const matcher = new HungarianMatcher();
  const t = time(() => matcher.matchArrays(logits, boxes, [b, q, c], targets), 10, 3);
  console.log(`matcher HungarianMatcher B=${b} Q=${q} C=${c} N=${n}: med ${t.med.toFixed(2)} ms, min ${t.min.toFixed(2)} ms`);
}

export const section = { name: 'matcher', run };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();

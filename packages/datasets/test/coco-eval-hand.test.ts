/**
 * Hand-worked COCO bbox cases. Each expected number is derived in the comments from
 * pycocotools' definitions: greedy matching per IoU threshold, precision made non-increasing
 * from the right, read at recall thresholds 0, .01, ..., 1 (101 points, searchsorted 'left').
 */
import test from 'ava';
import { evaluateCoco, COCO_STAT_KEYS, type CocoEvalAnnotation, type CocoResult, type CocoStats } from '../src/coco-eval/index.js';

const TOL = 1e-12;

type Box = [number, number, number, number];
let nextId = 1;
function ann(image_id: number, category_id: number, bbox: Box, extra: Partial<CocoEvalAnnotation> = {}): CocoEvalAnnotation {
  return { id: nextId++, image_id, category_id, bbox, area: bbox[2] * bbox[3], iscrowd: 0, ...extra };
}
function det(image_id: number, category_id: number, bbox: Box, score: number): CocoResult {
  return { image_id, category_id, bbox, score };
}
function gtOf(imageIds: number[], catIds: number[], annotations: CocoEvalAnnotation[]) {
  return { images: imageIds.map((id) => ({ id })), categories: catIds.map((id) => ({ id, name: `c${id}` })), annotations };
}
function expectStats(t: import('ava').ExecutionContext, got: CocoStats, want: Partial<CocoStats>): void {
  for (const [k, v] of Object.entries(want)) {
    t.true(Math.abs(got[k as keyof CocoStats] - v) < TOL, `${k}: got ${got[k as keyof CocoStats]}, want ${v}`);
  }
}

// Three sizes: small 10x10 (100), medium 50x50 (2500), large 200x200 (40000).
const SMALL: Box = [0, 0, 10, 10];
const MEDIUM: Box = [300, 300, 50, 50];
const LARGE: Box = [500, 0, 200, 200];

test('perfect detections give 1 for every stat', (t) => {
  const anns = [ann(1, 1, SMALL), ann(1, 2, MEDIUM), ann(2, 1, LARGE), ann(2, 2, SMALL)];
  const dets = anns.map((a, i) => det(a.image_id, a.category_id, a.bbox as Box, 0.2 + 0.1 * i));
  const r = evaluateCoco(gtOf([1, 2], [1, 2], anns), dets);
  for (const k of COCO_STAT_KEYS) t.true(Math.abs(r.stats[k] - 1) < TOL, k);
  t.deepEqual(r.perCategory.map((c) => c.categoryId), [1, 2]);
  for (const c of r.perCategory) t.true(Math.abs(c.ap - 1) < TOL);
});

test('one false positive at rank 2 of 4: AP by 101-point interpolation', (t) => {
  // 3 large GT; dets by score: TP .9, FP .8, TP .7, TP .6.
  // tp 1,1,2,3  fp 0,1,1,1 -> recall 1/3,1/3,2/3,1  precision 1,1/2,2/3,3/4 -> from the right 1,3/4,3/4,3/4.
  // Recall thresholds 0..0.33 (34 points) -> 1; 0.34..1 (67 points) -> 3/4. AP = (34 + 67*0.75)/101.
  const g = [ann(1, 1, [0, 0, 100, 100]), ann(1, 1, [200, 0, 100, 100]), ann(1, 1, [400, 0, 100, 100])];
  const dets = [det(1, 1, [0, 0, 100, 100], 0.9), det(1, 1, [0, 300, 100, 100], 0.8), det(1, 1, [200, 0, 100, 100], 0.7), det(1, 1, [400, 0, 100, 100], 0.6)];
  const ap = (34 + 67 * 0.75) / 101;
  const r = evaluateCoco(gtOf([1], [1], g), dets);
  // AR1 keeps only the top detection per image and category: recall 1/3. No small/medium GT: -1.
  expectStats(t, r.stats, { AP: ap, AP50: ap, AP75: ap, APl: ap, APs: -1, APm: -1, AR1: 1 / 3, AR10: 1, AR100: 1, ARl: 1, ARs: -1, ARm: -1 });
});

test('partial overlaps: IoU 0.6 matches at 3 of 10 thresholds, IoU 0.9 at 9 of 10', (t) => {
  // det [0,0,10,6] vs GT [0,0,10,10]: inter 60, union 100 -> 0.6 = thresholds .50 .55 .60.
  const r1 = evaluateCoco(gtOf([1], [1], [ann(1, 1, [0, 0, 10, 10])]), [det(1, 1, [0, 0, 10, 6], 0.5)]);
  expectStats(t, r1.stats, { AP: 0.3, AP50: 1, AP75: 0, AR100: 0.3 });
  // det [0,0,10,9]: IoU 0.9 >= linspace's 0.8999999999999999, < 0.95.
  const r2 = evaluateCoco(gtOf([1], [1], [ann(1, 1, [0, 0, 10, 10])]), [det(1, 1, [0, 0, 10, 9], 0.5)]);
  expectStats(t, r2.stats, { AP: 0.9, AP75: 1, AR100: 0.9 });
  // Touching boxes do not overlap: IoU 0, a false positive.
  const r3 = evaluateCoco(gtOf([1], [1], [ann(1, 1, [0, 0, 10, 10])]), [det(1, 1, [10, 0, 10, 10], 0.5)]);
  expectStats(t, r3.stats, { AP: 0, AR100: 0 });
});

test('crowd regions: detections inside are ignored, IoU uses the detection area', (t) => {
  // Image 1: a regular GT + a crowd region; image 2: a crowd region only. Three dets inside the
  // crowds outscore the true positive. Crowd IoU of [10,10,10,10] in [0,0,100,100] is
  // inter / det area = 100/100 = 1 (plain IoU would be 0.01), and a crowd absorbs any number of dets.
  const g = [ann(1, 1, [300, 300, 40, 40]), ann(1, 1, [0, 0, 100, 100], { iscrowd: 1 }), ann(2, 1, [0, 0, 100, 100], { iscrowd: 1 })];
  const dets = [det(1, 1, [10, 10, 10, 10], 0.99), det(1, 1, [50, 50, 10, 10], 0.98), det(2, 1, [5, 5, 20, 20], 0.97), det(1, 1, [300, 300, 40, 40], 0.5)];
  const r = evaluateCoco(gtOf([1, 2], [1], g), dets);
  // Only the regular GT counts (npig 1); the three crowd dets are ignored -> one TP -> all 1.
  expectStats(t, r.stats, { AP: 1, AP50: 1, AR1: 0, AR10: 1, AR100: 1, APm: 1, ARm: 1, APs: -1, APl: -1 });
  // AR1 = 0: the top detection of image 1 is a crowd one, the TP is cut at maxDets=1.

  // Without crowd handling the same boxes would be false positives ranked first:
  const plain = g.map((a) => ({ ...a, iscrowd: 0 }));
  const r2 = evaluateCoco(gtOf([1, 2], [1], plain), dets);
  t.true(r2.stats.AP < 0.5, `crowd flags must matter (got ${r2.stats.AP})`);
});

test('crowd-only ground truth: every stat is -1', (t) => {
  const g = [ann(1, 1, [0, 0, 100, 100], { iscrowd: 1 }), ann(2, 1, [0, 0, 10, 10], { iscrowd: 1 })];
  const r = evaluateCoco(gtOf([1, 2], [1], g), [det(1, 1, [0, 0, 50, 50], 0.9), det(2, 1, [100, 100, 5, 5], 0.8)]);
  for (const k of COCO_STAT_KEYS) t.is(r.stats[k], -1, k);
  t.is(r.perCategory[0].ap, -1);
});

test('empty results: 0 where there is GT, -1 elsewhere', (t) => {
  const r = evaluateCoco(gtOf([1], [1, 2], [ann(1, 1, SMALL), ann(1, 2, SMALL)]), []);
  expectStats(t, r.stats, { AP: 0, AP50: 0, AP75: 0, APs: 0, APm: -1, APl: -1, AR1: 0, AR10: 0, AR100: 0, ARs: 0, ARm: -1, ARl: -1 });
});

test('an image without GT contributes false positives', (t) => {
  // Image 1: 2 GT, TP .9 and TP .7; image 2 (no GT): FP .8.
  // recall .5,.5,1  precision 1,1/2,2/3 -> 1,2/3,2/3; thresholds 0...0.5 (51) -> 1, 0.51..1 (50) -> 2/3.
  const g = [ann(1, 1, [0, 0, 40, 40]), ann(1, 1, [100, 0, 40, 40])];
  const dets = [det(1, 1, [0, 0, 40, 40], 0.9), det(2, 1, [0, 0, 40, 40], 0.8), det(1, 1, [100, 0, 40, 40], 0.7)];
  const ap = (51 + 50 * (2 / 3)) / 101;
  expectStats(t, evaluateCoco(gtOf([1, 2], [1], g), dets).stats, { AP: ap, AP50: ap, AR100: 1 });
});

test('a category without GT is -1 and left out of the means', (t) => {
  const g = [ann(1, 1, SMALL)];
  const dets = [det(1, 1, SMALL, 0.5), det(1, 2, MEDIUM, 0.9), det(1, 2, LARGE, 0.8)];
  const r = evaluateCoco(gtOf([1], [1, 2], g), dets);
  expectStats(t, r.stats, { AP: 1, AR100: 1, APs: 1, APm: -1 });
  t.deepEqual(r.perCategory.map((c) => [c.categoryId, c.name, Math.round(c.ap * 1e9) / 1e9]), [[1, 'c1', 1], [2, 'c2', -1]]);
});

test('score ties keep input order inside an image and image-id order across images', (t) => {
  // Inside one image, 2 GT, three dets of equal score.
  // FP,TP,TP: recall 0,.5,1 precision 0,1/2,2/3 -> all 2/3 -> AP 2/3.
  // TP,TP,FP: recall .5,1,1 precision 1,1,2/3 -> 1,1,2/3 -> AP 1.
  const g = [ann(1, 1, [0, 0, 40, 40]), ann(1, 1, [100, 0, 40, 40])];
  const tp1 = det(1, 1, [0, 0, 40, 40], 0.5), tp2 = det(1, 1, [100, 0, 40, 40], 0.5), fp = det(1, 1, [200, 200, 40, 40], 0.5);
  expectStats(t, evaluateCoco(gtOf([1], [1], g), [fp, tp1, tp2]).stats, { AP: 2 / 3 });
  expectStats(t, evaluateCoco(gtOf([1], [1], g), [tp1, tp2, fp]).stats, { AP: 1 });

  // Across images the tie order is by image id, not by file order: images listed [2, 1],
  // results for image 2 first. Image 1: TP .5; image 2: FP .5 then TP .5.
  // Sorted ids: [img1 TP, img2 FP, img2 TP] -> recall .5,.5,1 precision 1,1/2,2/3 -> (51 + 50*2/3)/101.
  // (File order would give FP,TP,TP -> 2/3.)
  const g2 = { images: [{ id: 2 }, { id: 1 }], categories: [{ id: 1 }], annotations: [ann(1, 1, [0, 0, 40, 40]), ann(2, 1, [0, 0, 40, 40])] };
  const d2 = [det(2, 1, [300, 300, 40, 40], 0.5), det(2, 1, [0, 0, 40, 40], 0.5), det(1, 1, [0, 0, 40, 40], 0.5)];
  expectStats(t, evaluateCoco(g2, d2).stats, { AP: (51 + 50 * (2 / 3)) / 101 });
});

test('area ranges use the GT area field; unmatched detections outside a range are ignored', (t) => {
  // Two GT drawn 10x10 but with area 5000 (medium). Dets: a large FP (40000) at .99, then both TPs.
  // all: recall 0,.5,1 precision 0,1/2,2/3 -> 2/3 everywhere -> AP 2/3.
  // medium: the large FP is unmatched and outside [1024, 9216] -> ignored -> AP 1.
  // small: the GT are outside the range -> ignored -> no GT -> -1 (the TPs matched ignored GT).
  const g = [ann(1, 1, [0, 0, 10, 10], { area: 5000 }), ann(1, 1, [50, 0, 10, 10], { area: 5000 })];
  const dets = [det(1, 1, [500, 500, 200, 200], 0.99), det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [50, 0, 10, 10], 0.8)];
  expectStats(t, evaluateCoco(gtOf([1], [1], g), dets).stats, { AP: 2 / 3, APm: 1, ARm: 1, APs: -1, APl: -1, ARs: -1 });

  // Range ends are inclusive: area exactly 32^2 = 1024 is both small and medium.
  const edge = evaluateCoco(gtOf([1], [1], [ann(1, 1, [0, 0, 32, 32], { area: 1024 })]), [det(1, 1, [0, 0, 32, 32], 0.5)]);
  expectStats(t, edge.stats, { APs: 1, APm: 1, APl: -1 });
});

test('maxDets: only the 100 best detections per image and category count', (t) => {
  const g = [ann(1, 1, [0, 0, 20, 20])];
  const fps = (n: number) => Array.from({ length: n }, (_, i) => det(1, 1, [100 + 30 * i, 100, 20, 20], 0.9 - i * 1e-3));
  // 100 FPs above the TP: the TP is the 101st -> cut -> AP 0, AR100 0.
  expectStats(t, evaluateCoco(gtOf([1], [1], g), [...fps(100), det(1, 1, [0, 0, 20, 20], 0.1)]).stats, { AP: 0, AR100: 0 });
  // 99 FPs above it: TP at rank 100 -> recall reaches 1 at precision 1/100 -> AP 0.01; AR10 = AR1 = 0.
  expectStats(t, evaluateCoco(gtOf([1], [1], g), [...fps(99), det(1, 1, [0, 0, 20, 20], 0.1)]).stats, { AP: 0.01, AR100: 1, AR10: 0, AR1: 0 });
  // maxDets is per image *and category*: two categories with one GT each -> AR1 = 1.
  const g2 = [ann(1, 1, SMALL), ann(1, 2, MEDIUM)];
  expectStats(t, evaluateCoco(gtOf([1], [1, 2], g2), [det(1, 1, SMALL, 0.3), det(1, 2, MEDIUM, 0.4)]).stats, { AR1: 1 });
});

test('duplicate detections: the second one on a taken GT is a false positive', (t) => {
  // GT a, b; dets a .9, a-duplicate .8, b .7 -> recall .5,.5,1 precision 1,1/2,2/3 -> (51 + 50*2/3)/101.
  const g = [ann(1, 1, [0, 0, 40, 40]), ann(1, 1, [100, 0, 40, 40])];
  const dets = [det(1, 1, [0, 0, 40, 40], 0.9), det(1, 1, [0, 0, 40, 40], 0.8), det(1, 1, [100, 0, 40, 40], 0.7)];
  expectStats(t, evaluateCoco(gtOf([1], [1], g), dets).stats, { AP: (51 + 50 * (2 / 3)) / 101, AR100: 1 });
});

test('a detection prefers a regular GT over a better-overlapping ignored one', (t) => {
  // Det [0,0,10,10]: IoU 1 with an area-ignored GT (area field 20000 -> outside medium), IoU 0.8
  // (80/100) with a regular medium GT. For the medium range it must take the regular one.
  const g = [ann(1, 1, [0, 0, 10, 10], { area: 20000 }), ann(1, 1, [0, 0, 10, 8], { area: 2000 })];
  const r = evaluateCoco(gtOf([1], [1], g), [det(1, 1, [0, 0, 10, 10], 0.9)]);
  // medium: TP at thresholds .5 ... .8 (7 of 10) -> APm 0.7 (one det, one GT: AP is 1 or 0 per threshold).
  expectStats(t, r.stats, { APm: 0.7, ARm: 0.7 });
});

test('results on an image not in the GT are rejected; unknown categories are dropped', (t) => {
  const g = gtOf([1], [1], [ann(1, 1, SMALL)]);
  const err = t.throws(() => evaluateCoco(g, [det(7, 1, SMALL, 0.5)]));
  t.is((err as { code?: string }).code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /results\[0\].*image_id 7/);
  const r = evaluateCoco(g, [det(1, 1, SMALL, 0.5), det(1, 42, SMALL, 0.9)]);
  t.is(r.droppedResults, 1);
  expectStats(t, r.stats, { AP: 1 });
  t.throws(() => evaluateCoco(g, [{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }]), { message: /results\[0\]: bbox/ });
});

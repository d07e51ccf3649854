/**
 * Against the reference itself: fixtures/coco-eval/pycocotools-reference.json holds random
 * cases (crowds, ties, duplicates, empty images, categories without GT, annotation id 0,
 * repeated annotation ids, GT on unlisted images, results in unknown categories) with the
 * numbers pycocotools 2.0.11 printed for them (regenerate with fixtures/coco-eval/gen.py).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { evaluateCoco, COCO_STAT_KEYS, type CocoEvalGroundTruth, type CocoResult } from '../src/coco-eval/index.js';

interface RefCase {
  seed: number;
  gt: CocoEvalGroundTruth;
  results: CocoResult[];
  stats: number[];
  perCategory: number[];
}

const cases = JSON.parse(readFileSync(new URL('./fixtures/coco-eval/pycocotools-reference.json', import.meta.url), 'utf8')) as RefCase[];

test('all 12 stats and per-category AP match pycocotools on the reference cases', (t) => {
  t.true(cases.length >= 20);
  for (const c of cases) {
    const r = evaluateCoco(c.gt, c.results);
    COCO_STAT_KEYS.forEach((k, i) => {
      t.true(Math.abs(r.stats[k] - c.stats[i]) < 1e-9, `seed ${c.seed} ${k}: ours ${r.stats[k]}, pycocotools ${c.stats[i]}`);
    });
    r.perCategory.forEach((pc, i) => {
      t.true(Math.abs(pc.ap - c.perCategory[i]) < 1e-9, `seed ${c.seed} category ${pc.categoryId}: ours ${pc.ap}, pycocotools ${c.perCategory[i]}`);
    });
  }
});

test('the reference cases are not trivial', (t) => {
  const values = cases.flatMap((c) => c.stats);
  t.true(values.filter((v) => v === -1).length > 10);
  t.true(values.filter((v) => v > 0.05 && v < 0.95).length > 100);
  t.true(cases.some((c) => c.gt.annotations.some((a) => a.id === 0)), 'an annotation with id 0');
});

import test from 'ava';
import { ShapesDataset, SHAPE_CLASS_NAMES } from '../src/shapes/shapes-dataset.js';
import { intersectionOverSmaller, type Box } from '../src/util/boxes.js';

test('shapes: deterministic per seed, three classes, boxes inside the canvas and never touching', (t) => {
  const a = new ShapesDataset({ count: 200, seed: 1 });
  const b = new ShapesDataset({ count: 200, seed: 1 });
  t.deepEqual(a.classNames, SHAPE_CLASS_NAMES);
  const seen = new Set<number>();
  for (let i = 0; i < a.length; i++) {
    const s = a.get(i);
    t.deepEqual(b.get(i), s);
    const boxes: Box[] = Array.from({ length: s.labels.length }, (_, k) => [...s.boxes.subarray(4 * k, 4 * k + 4)] as Box);
    t.true(boxes.length >= 1 && boxes.length <= 3);
    s.labels.forEach((l) => seen.add(l));
    for (const [k, bx] of boxes.entries()) {
      t.true(bx[0] >= 0 && bx[1] >= 0 && bx[2] <= 64 && bx[3] <= 64 && bx[2] > bx[0] && bx[3] > bx[1]);
      for (const o of boxes.slice(k + 1)) t.is(intersectionOverSmaller(bx, o), 0);
    }
  }
  t.deepEqual([...seen].sort(), [0, 1, 2]);
  t.notDeepEqual(new ShapesDataset({ count: 1, seed: 2 }).get(0), a.get(0));
});

test('intersectionOverSmaller: a small box inside a large one scores 1 (IoU would be small)', (t) => {
  t.is(intersectionOverSmaller([0, 0, 40, 40], [10, 10, 20, 20]), 1);
  t.is(intersectionOverSmaller([0, 0, 10, 10], [5, 0, 25, 10]), 0.5); // 50 / min(100, 200)
  t.is(intersectionOverSmaller([0, 0, 10, 10], [10, 0, 20, 10]), 0);
});

import test from 'ava';
import { chooseLayout, makespan, planLayout } from '../src/parallel/layout.js';
import { shardBounds } from '../src/parallel/shard.js';

test('shardBounds: contiguous, as equal as possible, the first shares larger, covering every image once', (t) => {
  t.deepEqual(shardBounds(8, 2), [[0, 4], [4, 8]]);
  t.deepEqual(shardBounds(5, 2), [[0, 3], [3, 5]]);
  t.deepEqual(shardBounds(7, 3), [[0, 3], [3, 5], [5, 7]]);
  t.deepEqual(shardBounds(2, 2), [[0, 1], [1, 2]]);
});

test('makespan: runs start in order on the first free slot', (t) => {
  t.is(makespan([1, 2.3], 2), 2.3);
  t.is(makespan([3, 3, 2, 2, 2], 2), 7); // 3+2+2 | 3+2
  t.is(makespan([1, 1, 3], 2), 4); // 1+3 | 1
  t.is(makespan([1, 1, 1], 1), 3);
});

test('planLayout: the sooner of one run per core and one run after another on every core', (t) => {
  // The demo: the student alone (1) and with KD-DETR (2.29).
  const demo = [1, 2.29];
  t.like(planLayout({ costs: demo, cores: 2, dataParallelSpeedup: 1.4 }), { jobs: 2, workers: 1 }); // 2.29 vs 3.29 / 1.4 = 2.35
  t.like(planLayout({ costs: demo, cores: 2, dataParallelSpeedup: 1.7 }), { jobs: 1, workers: 2 }); // 2.29 vs 1.94
  // Equal runs: one per core always wins below a 2x speed-up.
  t.like(planLayout({ costs: [1, 1, 1, 1], cores: 2, dataParallelSpeedup: 1.9 }), { jobs: 2, workers: 1 });
  t.like(planLayout({ costs: [1], cores: 2, dataParallelSpeedup: 1.4 }), { jobs: 1, workers: 2 });
  t.like(planLayout({ costs: [1, 2], cores: 1 }), { jobs: 1, workers: 1 });
  const gpu = planLayout({ costs: demo, cores: 2, gpu: 'webgpu' });
  t.like(gpu, { jobs: 1, workers: 1, backend: 'webgpu' });
  t.regex(planLayout({ costs: demo, cores: 2, dataParallelSpeedup: 1.4 }).reason, /2\.29 for 2 at once .* 2\.35 for one after another on 2 workers/);
});

test('chooseLayout: what the user fixed, the rest filling the cores', async (t) => {
  t.like(await chooseLayout({ jobs: 1, costs: [1, 2], cores: 2 }), { jobs: 1, workers: 2 });
  t.like(await chooseLayout({ workers: 2, costs: [1, 2], cores: 2 }), { jobs: 1, workers: 2 });
  t.like(await chooseLayout({ jobs: 2, costs: [1, 2], cores: 2 }), { jobs: 2, workers: 1 });
  t.like(await chooseLayout({ jobs: 2, workers: 2, costs: [1, 2], cores: 2 }), { jobs: 2, workers: 2 });
});

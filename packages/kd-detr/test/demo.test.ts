import test from 'ava';
import { DEMO_SCHEDULE, resolveDemoOptions, studentRunConfig, verdictLine } from '../src/experiments.js';

const settings = { iters: 10, evalInterval: 5, trainCount: 40, valCount: 8, batchSize: 2, generalPoints: 7, seed: 3 };
const optimizer = { type: 'adamw', lr: 2e-4, weightDecay: 1e-4 };

test('studentRunConfig: without a schedule the student config\'s optimizer and no LR hook (the ablation\'s committed runs depend on this text)', (t) => {
  const c = studentRunConfig(settings, { type: 'dab-detr' }, optimizer, '/w', { type: 'kd-detr', method: 'none' });
  t.deepEqual(c.train.optimizer, optimizer);
  t.deepEqual(c.hooks, [{ type: 'logger', interval: 20 }, { type: 'eval', interval: 5 }]);
  t.deepEqual(Object.keys(c), ['seed', 'plugins', 'workDir', 'model', 'data', 'evaluator', 'train', 'hooks', 'distill']);
});

test('studentRunConfig with the demo schedule: its rate, warm-up and a cosine decay, the rest unchanged', (t) => {
  const c = studentRunConfig(settings, { type: 'dab-detr' }, optimizer, '/w', {}, DEMO_SCHEDULE);
  t.deepEqual(c.train.optimizer, { ...optimizer, lr: DEMO_SCHEDULE.lr });
  t.deepEqual(c.hooks.at(-1), { type: 'cosine-lr', warmupIters: DEMO_SCHEDULE.warmupIters, warmupFactor: 0.01 });
  t.is(c.train.maxIters, 10);
});

test('verdictLine judges on the AP as printed', (t) => {
  t.is(verdictLine({ AP: 0.1 }, { AP: 0.2 }), "KD-DETR improved the student's AP (10.00 -> 20.00, at equal iterations)");
  t.is(verdictLine({ AP: 0 }, { AP: 0.00001 }), "KD-DETR did not change the student's AP (0.00 -> 0.00, at equal iterations)");
  t.regex(verdictLine({ AP: 0.3 }, { AP: 0.2 }), /lowered/);
});

test('resolveDemoOptions: bad numbers and a missing teacher checkpoint name the option', (t) => {
  t.throws(() => resolveDemoOptions({ iters: -1 }), { message: /--iters must be a non-negative number/ });
  t.throws(() => resolveDemoOptions({ jobs: 1.5 }), { message: /--jobs must be a positive integer/ });
  t.throws(() => resolveDemoOptions({ teacherCheckpoint: '/nonexistent/t.safetensors' }), { message: /teacher checkpoint \/nonexistent\/t.safetensors is missing/ });
});

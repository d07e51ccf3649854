// The resume rule of the experiment scripts (ablation, compare): a run folder counts as finished
// only with a result.json and a config.json equal to the config the script would write now,
// wherever the repository was checked out.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { finishedRun, repoRelative } from '../src/demo/finished-run.js';

const configText = (root: string, maxIters: number) =>
  JSON.stringify({ extends: `${root}/configs/faster-rcnn/mnist.ts`, workDir: `${root}/packages/kd-detr/results/x/alone-seed0`, seed: 0, train: { maxIters } }, null, 2);
const result = { name: 'alone/0', iters: 1000, history: [], final: { AP: 0.709 }, msPerIter: 600, wallSeconds: 700, workDir: '/w' };

test('finishedRun: same config from another checkout is reused; a changed config, or no result.json, is not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-finished-'));
  const run = join(dir, 'alone-seed0');
  mkdirSync(run);
  writeFileSync(join(run, 'config.json'), configText('/work/wt-exp', 1000));
  t.is(await finishedRun(run, configText('/work/wt-exp', 1000)), undefined, 'no result.json yet');
  writeFileSync(join(run, 'result.json'), JSON.stringify(result));
  t.deepEqual(await finishedRun(run, configText('/home/me/detkit', 1000)), result, 'a checkout elsewhere reuses the run');
  t.is(await finishedRun(run, configText('/home/me/detkit', 2000)), undefined, 'another iteration budget is another run');
  t.is(await finishedRun(join(dir, 'missing'), configText('/work/wt-exp', 1000)), undefined);
});

test('repoRelative replaces the checkout prefix of configs/, packages/ and checkpoints/ paths only', (t) => {
  t.is(repoRelative('"/a/b/configs/x.ts" "/a/b/checkpoints/t.safetensors" "/tmp/data/y"'), '"<repo>/configs/x.ts" "<repo>/checkpoints/t.safetensors" "/tmp/data/y"');
});

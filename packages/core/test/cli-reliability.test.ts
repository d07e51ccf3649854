import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detkit, tinyTrainArgs } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'detkit-cli-rel-'));

/** The iteration stored in a checkpoint's header (no tensors loaded). */
function iterOf(file: string): number {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  return JSON.parse(header.__metadata__.detkit).iter;
}

test('train twice with the same command: the second refuses (exit 3) and leaves the first run intact; --force moves it aside', async (t) => {
  const workDir = join(dir, 'twice');
  const first = await detkit(tinyTrainArgs(workDir, 4));
  t.is(first.code, 0, first.stderr);
  const before = Object.fromEntries(readdirSync(workDir).map((f) => [f, readFileSync(join(workDir, f))]));
  t.is(iterOf(join(workDir, 'latest.safetensors')), 4);

  const second = await detkit(tinyTrainArgs(workDir, 2));
  t.is(second.code, 3, second.stderr);
  t.regex(second.stderr, /error \[WORK_DIR_IN_USE\]: work dir .*twice already holds a run \(.*latest\.safetensors at iteration 4/);
  t.regex(second.stderr, /--resume .*twice\/latest\.safetensors/);
  t.regex(second.stderr, /--work-dir/);
  t.regex(second.stderr, /--force/);
  t.deepEqual(readdirSync(workDir).sort(), Object.keys(before).sort(), 'no file added or removed');
  for (const [f, bytes] of Object.entries(before)) t.true(readFileSync(join(workDir, f)).equals(bytes), `${f} unchanged`);

  const forced = await detkit(tinyTrainArgs(workDir, 2, '--force'));
  t.is(forced.code, 0, forced.stderr);
  const aside = readdirSync(workDir).filter((f) => f.startsWith('replaced-'));
  t.is(aside.length, 1);
  for (const [f, bytes] of Object.entries(before)) t.true(readFileSync(join(workDir, aside[0]!, f)).equals(bytes), `${f} kept aside`);
  t.is(iterOf(join(workDir, 'latest.safetensors')), 2);
  t.false(existsSync(join(workDir, 'iter_00000004.safetensors')), "the old run's files are not mixed in");
  const iters = readFileSync(join(workDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iter);
  t.deepEqual(iters, [1, 2]);
});

test('SIGTERM (sent twice at once, as npx forwards it) stops after the iteration, writes latest, exits 143; it resumes', async (t) => {
  const workDir = join(dir, 'sigterm');
  let sent = false;
  const r = await detkit(tinyTrainArgs(workDir, 100_000), { DETKIT_LOG_LEVEL: 'info' }, (child, stderr) => {
    if (!sent && /iter 3\/100000/.test(stderr)) {
      sent = true;
      child.kill('SIGTERM');
      child.kill('SIGTERM');
    }
  });
  t.is(r.signal, null, 'not killed by the signal');
  t.is(r.code, 143, r.stderr);
  t.regex(r.stderr, /SIGTERM: stopping after the current iteration/);
  const stopped = Number(/stopped at iteration (\d+)/.exec(r.stderr)?.[1]);
  t.true(stopped >= 3);
  t.is(iterOf(join(workDir, 'latest.safetensors')), stopped);

  const resumed = await detkit(tinyTrainArgs(workDir, stopped + 1, '--resume', join(workDir, 'latest.safetensors')), { DETKIT_LOG_LEVEL: 'info' });
  t.is(resumed.code, 0, resumed.stderr);
  t.regex(resumed.stderr, new RegExp(`Resumed from .* at iteration ${stopped}`));
  t.is(iterOf(join(workDir, 'latest.safetensors')), stopped + 1);
});

test('resuming under a changed config exits 3 naming the key and leaves the run untouched; --allow-config-change goes on and logs it', async (t) => {
  const workDir = join(dir, 'changed');
  const first = await detkit(tinyTrainArgs(workDir, 2));
  t.is(first.code, 0, first.stderr);
  const before = Object.fromEntries(readdirSync(workDir).map((f) => [f, readFileSync(join(workDir, f))]));
  const latest = join(workDir, 'latest.safetensors');

  const refused = await detkit(tinyTrainArgs(workDir, 4, '--resume', latest, '--set', 'train.optimizer.lr=0.002'));
  t.is(refused.code, 3, refused.stderr);
  t.regex(refused.stderr, /error \[RESUME_CONFIG_CHANGED\]: Cannot resume .*changed\/latest\.safetensors/);
  t.regex(refused.stderr, /train\.optimizer\.lr: 0\.001 -> 0\.002/);
  t.regex(refused.stderr, /--allow-config-change/);
  t.deepEqual(readdirSync(workDir).sort(), Object.keys(before).sort(), 'no file added or removed');
  for (const [f, bytes] of Object.entries(before)) t.true(readFileSync(join(workDir, f)).equals(bytes), `${f} unchanged`);

  const allowed = await detkit(tinyTrainArgs(workDir, 4, '--resume', latest, '--set', 'train.optimizer.lr=0.002', '--allow-config-change'));
  t.is(allowed.code, 0, allowed.stderr);
  t.regex(allowed.stderr, /under a changed config \(allowed\):\n\s+train\.optimizer\.lr: 0\.001 -> 0\.002/);
  t.is(iterOf(latest), 4);
});

test('stale temp files of dead writers are removed at start, a live writer\'s are kept; --set 2e0 is reported as read', async (t) => {
  const workDir = join(dir, 'stale');
  mkdirSync(workDir, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stale = join(workDir, `.iter_00000020.safetensors.${dead}.0a1b2c3d.tmp`);
  const live = join(workDir, `.latest.safetensors.${process.pid}.0a1b2c3d.tmp`);
  writeFileSync(stale, Buffer.alloc(1024));
  writeFileSync(live, Buffer.alloc(16));
  const r = await detkit(tinyTrainArgs(workDir, 1, '--set', 'train.maxIters=2e0'), { DETKIT_LOG_LEVEL: 'info' });
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(stale));
  t.true(existsSync(live));
  t.regex(r.stderr, /--set train\.maxIters=2e0: read as 2/);
  const resolved = JSON.parse(readFileSync(join(workDir, 'config.resolved.json'), 'utf8'));
  t.is(resolved.train.maxIters, 2);
  t.like(resolved.overrides.find((o: { key: string; set: string }) => o.key === 'train.maxIters' && o.set.endsWith('2e0')), { value: 2 });
});

test('--set with an unknown top-level key fails with a suggestion (exit 3); 1e999 is refused as written', async (t) => {
  const workDir = join(dir, 'unknown-set');
  const [lr, foo, huge] = await Promise.all([
    detkit(tinyTrainArgs(workDir, 1, '--set', 'lr=1')),
    detkit(tinyTrainArgs(workDir, 1, '--set', 'foo.bar.baz=1')),
    detkit(tinyTrainArgs(workDir, 1, '--set', 'train.maxIters=1e999')),
  ]);
  t.is(lr.code, 3);
  t.regex(lr.stderr, /--set 'lr=1': unknown top-level key 'lr'.*did you mean 'train\.optimizer\.lr'\?/);
  t.is(foo.code, 3);
  t.regex(foo.stderr, /--set 'foo\.bar\.baz=1': unknown top-level key 'foo'.*known sections: .*train/);
  t.is(huge.code, 3);
  t.regex(huge.stderr, /train\.maxIters=1e999': the number 1e999 does not fit a double/);
  t.false(existsSync(workDir), 'nothing was written');
});

test('skipInvalid: a PNG with an intact header and a truncated body is skipped during training, which finishes', async (t) => {
  const data = join(dir, 'coco-trunc');
  const made = await detkit(['data', 'make', 'mnist-detection', '--out', data, '--count', '8']);
  t.is(made.code, 0, made.stderr);
  const png = join(data, 'images', '000003.png');
  const bytes = readFileSync(png);
  writeFileSync(png, bytes.subarray(0, bytes.length >> 1));
  const train = JSON.stringify({ type: 'coco', annFile: join(data, 'instances.json'), imageDir: data, skipInvalid: true });
  const r = await detkit(tinyTrainArgs(join(dir, 'trunc-run'), 3, '--set', `data.train=${train}`));
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /warn .*images \(id 3, file .*000003\.png\) skipped: cannot decode image/);
});

test('eval --gt --results: bad results and a bad ground truth fail naming the file, record and value as written', async (t) => {
  const gt = { images: [1, 2, 3].map((id) => ({ id, width: 40, height: 40 })), categories: [{ id: 1, name: 'a' }], annotations: [{ id: 1, image_id: 3, category_id: 1, bbox: [13, 12, 5, 17] }] };
  const ok = [{ image_id: 3, category_id: 1, bbox: [13, 12, 5, 17], score: 0.9 }];
  const file = (name: string, value: unknown, text = JSON.stringify(value)) => (writeFileSync(join(dir, name), text), join(dir, name));
  const evalFiles = (g: string, r: string) => detkit(['eval', '--gt', g, '--results', r]);
  const goodGt = file('gt.json', gt);
  const goodRes = file('res.json', ok);
  const [good, negative, infScore, infBox, dupImage, unknownCat, negGt, dupAnn] = await Promise.all([
    evalFiles(goodGt, goodRes),
    evalFiles(goodGt, file('neg.json', [{ ...ok[0], bbox: [13, 12, -5, 17] }])),
    evalFiles(goodGt, file('inf-score.json', null, '[{"image_id": 3, "category_id": 1, "bbox": [13, 12, 5, 17], "score": 1e999}]')),
    evalFiles(goodGt, file('inf-box.json', null, '[{"image_id": 3, "category_id": 1, "bbox": [13, 12, 1e999, 17], "score": 0.5}]')),
    evalFiles(file('gt-dup-image.json', { ...gt, images: [...gt.images, { id: 3, width: 40, height: 40 }] }), goodRes),
    evalFiles(file('gt-cat.json', { ...gt, annotations: [{ ...gt.annotations[0], category_id: 7 }] }), goodRes),
    evalFiles(file('gt-neg.json', { ...gt, annotations: [{ ...gt.annotations[0], bbox: [13, 12, -5, 17] }] }), goodRes),
    evalFiles(file('gt-dup-ann.json', { ...gt, annotations: [gt.annotations[0], { ...gt.annotations[0], image_id: 2 }] }), goodRes),
  ]);
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = 1\.000/);
  t.is(negative.code, 3);
  t.regex(negative.stderr, /neg\.json: results\[0\]: bbox \[13,12,-5,17\] has a negative width or height/);
  t.is(infScore.code, 3);
  t.regex(infScore.stderr, /inf-score\.json: the number 1e999 at line 1, column \d+ does not fit a double/);
  t.is(infBox.code, 3);
  t.regex(infBox.stderr, /inf-box\.json: the number 1e999 at line 1/);
  t.notRegex(infBox.stderr, /null/);
  t.is(dupImage.code, 4);
  t.regex(dupImage.stderr, /error \[DATASET_INVALID\]: .*gt-dup-image\.json: images\[3\] \(id 3\): duplicate image id 3/);
  t.is(unknownCat.code, 4);
  t.regex(unknownCat.stderr, /gt-cat\.json: annotations\[0\] \(id 1\): unknown category_id 7/);
  t.is(negGt.code, 4);
  t.regex(negGt.stderr, /gt-neg\.json: annotations\[0\] \(id 1\): bbox \[13,12,-5,17\] has negative width or height/);
  t.is(dupAnn.code, 0, dupAnn.stderr);
  t.regex(dupAnn.stdout, /note: .*gt-dup-ann\.json: annotation id 1 repeated; like pycocotools/);
});

/** A copy of a checkpoint with its header (and optionally its data) edited. */
function craft(from: string, to: string, edit: (header: Record<string, { dtype: string; data_offsets: [number, number] }>, data: Buffer) => void): string {
  const buf = Buffer.from(readFileSync(from));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  edit(header, buf.subarray(8 + n));
  const json = JSON.stringify(header).padEnd(n, ' '); // I32 for F32 keeps the length
  writeFileSync(to, Buffer.concat([buf.subarray(0, 8), Buffer.from(json), buf.subarray(8 + n)]));
  return to;
}

test('crafted checkpoints: an I32 header on a float parameter and NaN weights are refused by resume and eval, naming the tensor (exit 4)', async (t) => {
  const workDir = join(dir, 'crafted');
  const r = await detkit(tinyTrainArgs(workDir, 2));
  t.is(r.code, 0, r.stderr);
  const latest = join(workDir, 'latest.safetensors');
  const floatName = (h: Record<string, { dtype: string }>) => Object.keys(h).find((k) => k.startsWith('model.') && h[k]!.dtype === 'F32')!;
  let i32Name = '';
  const i32 = craft(latest, join(dir, 'i32.safetensors'), (h) => {
    i32Name = floatName(h);
    h[i32Name]!.dtype = 'I32';
  });
  let nanName = '';
  const nan = craft(latest, join(dir, 'nan.safetensors'), (h, data) => {
    nanName = floatName(h);
    data.writeFloatLE(NaN, h[nanName]!.data_offsets[0]);
  });
  const evalArgs = (ck: string) => ['eval', ...tinyTrainArgs(workDir, 2).slice(1, 4), '--set', 'data.val.count=8', '--checkpoint', ck];
  const [resumeI32, evalI32, resumeNan, evalNan] = await Promise.all([
    detkit(tinyTrainArgs(join(dir, 'crafted-resume'), 4, '--resume', i32)),
    detkit(evalArgs(i32)),
    detkit(tinyTrainArgs(join(dir, 'crafted-resume-nan'), 4, '--resume', nan)),
    detkit(evalArgs(nan)),
  ]);
  const bare = i32Name.slice('model.'.length).replace(/\./g, '\\.');
  for (const run of [resumeI32, evalI32]) {
    t.is(run.code, 4, run.stderr);
    t.regex(run.stderr, new RegExp(`error \\[STATE_DICT_MISMATCH\\]: .*i32\\.safetensors: wrong dtypes: ${bare}: expected float32 got int32`));
  }
  for (const run of [resumeNan, evalNan]) {
    t.is(run.code, 4, run.stderr);
    t.regex(run.stderr, new RegExp(`error \\[CHECKPOINT_CORRUPT\\]: .*nan\\.safetensors: tensor '(model\\.)?${nanName.slice(6).replace(/\./g, '\\.')}' holds 1 non-finite value`));
  }
});

test('divergence (lr=1e6): LOSS_NOT_FINITE naming the iteration and the non-finite predictions (exit 4); evaluating the last checkpoint says the outputs are not finite', async (t) => {
  const workDir = join(dir, 'diverge');
  // The DAB-DETR student, shrunk to run in seconds; it diverges the same way.
  const small = [
    'configs/dab-detr/mnist-student.ts', '--backend', 'wasm', '--set', 'data.val.count=4', '--set', 'data.batchSize=2',
    '--set', 'model.hiddenDim=32', '--set', 'model.numHeads=2', '--set', 'model.numEncoderLayers=1', '--set', 'model.numDecoderLayers=1',
    '--set', 'model.dimFeedforward=64', '--set', 'model.numQueries=10',
  ];
  const r = await detkit(['train', ...small, '--work-dir', workDir, '--set', 'train.optimizer.lr=1e6', '--set', 'train.maxIters=3', '--set', 'data.train.count=8',
    '--set', 'hooks=[{"type":"checkpoint","interval":1}]']);
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, /error \[LOSS_NOT_FINITE\]: Training diverged at iteration 2: the model's predictions are not finite \(logits: \d+ of \d+ \(first: NaN\)\)/);
  t.notRegex(r.stderr, /HungarianMatcher|INVALID_ARGUMENT/);
  const e = await detkit(['eval', ...small, '--checkpoint', join(workDir, 'iter_00000001.safetensors')]);
  t.is(e.code, 4, e.stderr);
  t.regex(e.stderr, /error \[OUTPUT_NOT_FINITE\]: The model produced non-finite outputs \(image \d+: score NaN/);
  t.notRegex(e.stderr, /must be a number/);
});

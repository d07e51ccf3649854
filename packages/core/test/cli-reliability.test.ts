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
  t.like(resolved.overrides.find((o: { key: string }) => o.key === 'train.maxIters' && o.set.endsWith('2e0')), { value: 2 });
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

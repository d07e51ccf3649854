import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Runner, type BuildContext, type Hook, type PluginContext, type RunState, type TypedConfig } from '@detkit/core';
import { defaultHooks, HOOK_FACTORIES, LoggerHook, ProgressHook, registerHooks, wantsBar } from '../src/hooks.js';
import { baseOptions, recordingLogger, services, useCpu } from './helpers.js';

test.before(useCpu);

const dir = () => mkdtempSync(join(tmpdir(), 'prog-'));

test('bar only on a TTY outside CI', (t) => {
  t.true(wantsBar({}, true));
  t.false(wantsBar({}, false));
  t.false(wantsBar({ CI: 'true' }, true));
  t.false(wantsBar({ CI: '1' }, true));
  t.true(wantsBar({ CI: 'false' }, true));
});

test.serial('progress without a terminal: periodic lines driven by events$', async (t) => {
  const log = recordingLogger();
  const hook = new ProgressHook({ mode: 'lines', interval: 2 }, log);
  const runner = new Runner(baseOptions(dir(), { hooks: [hook], maxIters: 5 }));
  await runner.train();
  const lines = log.lines.filter((l) => l.startsWith('progress'));
  t.deepEqual(lines.map((l) => l.split(' ')[1]), ['2/5', '4/5', '5/5']);
  t.regex(lines[2]!, /\(100\.0%\) \| loss [\d.e+-]+ \| lr 1\.00e-1 \| [\d.?]+ it\/s \| left /);
  runner.dispose();
});

test.serial('progress bar draws value/total, loss, lr to its stream and stops at the end', async (t) => {
  let out = '';
  const stream = new Writable({ write: (c, _e, cb) => ((out += c), cb()) });
  const hook = new ProgressHook({ mode: 'bar', interval: 1, stream }, recordingLogger());
  const runner = new Runner(baseOptions(dir(), { hooks: [hook], maxIters: 4 }));
  await runner.train();
  t.regex(out, /4\/4 \| loss [\d.e+-]+ \| lr 1\.00e-1/);
  runner.dispose();
});

test.serial('logger prints every N iterations with losses, lr, it/s and ETA', async (t) => {
  const log = recordingLogger();
  const runner = new Runner(baseOptions(dir(), { hooks: [new LoggerHook({ interval: 3, metricsFile: 'm.jsonl' }, log)], maxIters: 7 }));
  await runner.train();
  t.deepEqual(log.lines.map((l) => l.split(' ')[1]), ['3/7', '6/7', '7/7']);
  t.regex(log.lines[0]!, /^iter 3\/7 ep 0 \| loss [\d.e+-]+ \(mse [\d.e+-]+\) \| lr 1\.000e-1 \| [\d.]+ it\/s \| data \d+ms \| ETA \d+:\d\d$/);
  runner.dispose();
});

test('registerHooks registers every standard hook; each builds from {} params', async (t) => {
  const names: string[] = [];
  const ctx: PluginContext = { services: services(), register: (kind, name) => void (t.is(kind, 'hook'), names.push(name)) };
  registerHooks(ctx);
  t.deepEqual(names.sort(), ['checkpoint', 'cosine-lr', 'ema', 'eval', 'logger', 'lr-schedule', 'progress', 'step-lr', 'warmup']);
  const bctx = { services: services() } as BuildContext;
  for (const n of names) {
    const hook = HOOK_FACTORIES[n]!.build({}, bctx) as Hook;
    t.is(typeof hook.name, 'string');
  }
  const err = t.throws(() => HOOK_FACTORIES.checkpoint!.build({ interval: 10, keeplast: 2 }, bctx));
  t.is((err as { code?: string }).code, 'CONFIG_INVALID');
  t.regex(err!.message, /hook 'checkpoint': keeplast=2 is not a parameter of this hook \(known: interval, keepLast/);
});

test('defaultHooks', (t) => {
  const types = (c: TypedConfig[]) => c.map((h) => h.type);
  t.deepEqual(types(defaultHooks()), ['logger', 'progress', 'checkpoint']);
  const withVal = defaultHooks({ hasVal: true, evalInterval: 100, checkpointInterval: 200 });
  t.deepEqual(types(withVal), ['logger', 'progress', 'checkpoint', 'eval']);
  t.like(withVal[2], { interval: 200, keepLast: 3, bestMetric: 'AP' });
  t.like(withVal[3], { interval: 100 });
});

test('a resumed run drops the metrics records its predecessor wrote after the checkpoint (each iteration once)', async (t) => {
  const workDir = dir();
  const file = join(workDir, 'metrics.jsonl');
  const record = (iter: number, type = 'iter') => JSON.stringify({ type, iter, totalLoss: 1 });
  writeFileSync(file, [1, 2, 3, 4, 5].map((i) => record(i)).join('\n') + '\n' + record(2, 'eval') + '\n');
  const log = recordingLogger();
  const hook = new LoggerHook({ interval: 1, metricsFile: 'metrics.jsonl' }, log);
  await hook.beforeRun({ workDir, iter: 3 } as RunState);
  const kept = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(kept.map((r) => [r.type, r.iter]), [['iter', 1], ['iter', 2], ['iter', 3], ['eval', 2]]);
  t.regex(log.lines.join('\n'), /dropped 2 record\(s\) after iteration 3/);
  await hook.beforeRun({ workDir, iter: 0 } as RunState);
  t.is(readFileSync(file, 'utf8').trim().split('\n').length, 4, 'a run from 0 touches nothing');
});

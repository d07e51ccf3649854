import test from 'ava';
import { firstValueFrom, Subject, take, toArray } from 'rxjs';
import { isDetkitError } from '../src/errors.js';
import { createRegistry, createServices, DIRECT_REGISTRANT, levenshtein, suggest } from '../src/registry/index.js';
import type { BuildContext } from '../src/registry/types.js';
import type { RunnerEvent } from '../src/runner/events.js';
import { silentLogger } from '../src/util/logger.js';
import { createRng } from '../src/util/rng.js';

const fresh = () => createRegistry(createServices({ seed: 7, logger: silentLogger, backend: 'cpu' }).services);

test('levenshtein against hand-worked distances', (t) => {
  t.is(levenshtein('kitten', 'sitting'), 3);
  t.is(levenshtein('', 'abc'), 3);
  t.is(levenshtein('dab-detr', 'dab-detr'), 0);
  t.is(levenshtein('flaw', 'lawn'), 2);
  t.is(suggest('dab-dter', ['detr', 'dab-detr', 'dino']), 'dab-detr');
  t.is(suggest('distill', ['kd-detr/distill', 'ema']), 'kd-detr/distill');
  t.is(suggest('zzzzzz', ['detr', 'dino']), undefined);
});

test('build passes params without type and a BuildContext with services', async (t) => {
  const reg = fresh();
  let seen: { params: Record<string, unknown>; ctx: BuildContext } | undefined;
  reg.register('detector', 'toy', (params, ctx) => {
    seen = { params, ctx };
    return { kind: 'toy', width: params.width };
  });
  const built = await reg.build<{ kind: string; width: number }>('detector', { type: 'toy', width: 8 });
  t.deepEqual(built, { kind: 'toy', width: 8 });
  t.deepEqual(seen!.params, { width: 8 });
  t.is(seen!.ctx.services.backend, 'cpu');
  t.is(seen!.ctx.services.rng.seed, 7);
});

test('nested builds through ctx.build, async factories', async (t) => {
  const reg = fresh();
  reg.register('backbone', 'tiny', async (p) => ({ channels: p.channels }));
  reg.register('detector', 'with-backbone', async (p, ctx) => ({ backbone: await ctx.build('backbone', p.backbone as { type: string }) }));
  const d = await reg.build('detector', { type: 'with-backbone', backbone: { type: 'tiny', channels: 16 } });
  t.deepEqual(d, { backbone: { channels: 16 } });
});

test('unknown name lists the known names of that kind and suggests the closest', async (t) => {
  const reg = fresh();
  for (const n of ['detr', 'dab-detr', 'deformable-detr']) reg.register('detector', n, () => n);
  reg.register('hook', 'dab-dtr-hook', () => 0); // other kinds must not be listed
  const e = await t.throwsAsync(reg.build('detector', { type: 'dab-dter' }));
  t.true(isDetkitError(e, 'REGISTRY_UNKNOWN'));
  t.regex(e!.message, /Unknown detector 'dab-dter'/);
  t.regex(e!.message, /Did you mean 'dab-detr'\?/);
  t.regex(e!.message, /Known detector names: dab-detr, deformable-detr, detr$/);
  t.notRegex(e!.message, /dab-dtr-hook/);
});

test('unknown name far from everything: no suggestion; empty kind says so', async (t) => {
  const reg = fresh();
  reg.register('detector', 'detr', () => 1);
  const e = await t.throwsAsync(reg.build('detector', { type: 'faster-rcnn-xl' }));
  t.true(isDetkitError(e, 'REGISTRY_UNKNOWN'));
  t.notRegex(e!.message, /Did you mean/);
  const e2 = await t.throwsAsync(reg.build('widget', { type: 'x' }));
  t.true(isDetkitError(e2, 'REGISTRY_UNKNOWN'));
  t.regex(e2!.message, /nothing is registered under kind 'widget'.*Kinds with entries: detector/);
});

test('a config without a string type is rejected', async (t) => {
  const reg = fresh();
  const e = await t.throwsAsync(reg.build('detector', { typ: 'detr' } as never));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
});

test('duplicate names fail naming both registrants; override replaces and is recorded', async (t) => {
  const reg = fresh();
  reg.pluginContext('alpha').register('hook', 'ema', () => 'alpha-ema', { description: 'first' });
  const e = t.throws(() => reg.pluginContext('beta').register('hook', 'ema', () => 'beta-ema'));
  t.true(isDetkitError(e, 'REGISTRY_DUPLICATE'));
  t.regex(e!.message, /hook 'ema' is already registered by plugin 'alpha'; plugin 'beta'/);
  t.is(await reg.build('hook', { type: 'ema' }), 'alpha-ema');

  reg.pluginContext('beta').register('hook', 'ema', () => 'beta-ema', { override: true, description: 'second' });
  t.is(await reg.build('hook', { type: 'ema' }), 'beta-ema');
  const entry = reg.list().hook!.find((x) => x.name === 'ema')!;
  t.is(entry.plugin, 'beta');
  t.is(entry.description, 'second');
  t.deepEqual(entry.overrides, ['alpha']);
});

test('same name in different kinds is no collision; scoped names and new kinds work', async (t) => {
  const reg = fresh();
  reg.register('hook', 'coco', () => 'h');
  reg.register('evaluator', 'coco', () => 'e');
  reg.pluginContext('kd-detr').register('hook', 'kd-detr/distill', () => 'd');
  reg.pluginContext('kd-detr').register('query-sampler', 'kd-detr/general', () => 's');
  t.is(await reg.build('hook', { type: 'kd-detr/distill' }), 'd');
  t.is(await reg.build('query-sampler', { type: 'kd-detr/general' }), 's');
  const list = reg.list();
  t.deepEqual(list.hook!.map((e) => [e.name, e.plugin]), [['coco', DIRECT_REGISTRANT], ['kd-detr/distill', 'kd-detr']]);
  t.deepEqual(list['query-sampler']!.map((e) => e.name), ['kd-detr/general']);
  t.true(reg.kinds().indexOf('query-sampler') > reg.kinds().indexOf('sampler'));
  t.deepEqual(list.backbone, []);
});

test('bad names and non-function factories are refused', (t) => {
  const reg = fresh();
  t.true(isDetkitError(t.throws(() => reg.register('detector', 'has space', () => 1)), 'INVALID_ARGUMENT'));
  t.true(isDetkitError(t.throws(() => reg.register('detector', '', () => 1)), 'INVALID_ARGUMENT'));
  t.true(isDetkitError(t.throws(() => reg.register('detector', 'x', 42 as never)), 'INVALID_ARGUMENT'));
});

test('services.events$ relays the runner events attached later', async (t) => {
  const run = createServices({ logger: silentLogger });
  const got = firstValueFrom(run.services.events$.pipe(take(2), toArray()));
  const runnerEvents = new Subject<RunnerEvent>();
  const sub = run.attachEvents(runnerEvents);
  runnerEvents.next({ type: 'beforeRun', iter: 0, maxIters: 3, epoch: 0 });
  runnerEvents.next({ type: 'log', level: 'info', message: 'hi' });
  t.deepEqual((await got).map((e) => e.type), ['beforeRun', 'log']);
  sub.unsubscribe();
});

test('rng: deterministic, uniform-ish, fork independent of draws, normal moments', (t) => {
  const a = createRng(123);
  const b = createRng(123);
  const xs = Array.from({ length: 5 }, () => a.next());
  t.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  t.notDeepEqual(xs, Array.from({ length: 5 }, () => createRng(124).next()));
  // fork depends on (seed, label) only
  const f1 = createRng(5).fork('loader').next();
  const r = createRng(5);
  for (let i = 0; i < 100; i++) r.next();
  t.is(r.fork('loader').next(), f1);
  t.not(createRng(5).fork('augment').next(), f1);
  // moments over 20k draws: mean 0.5 / var 1/12 for uniform, mean 0 / var 1 for normal
  const n = 20000;
  const u = createRng(9);
  let s = 0, s2 = 0, g = 0, g2 = 0;
  for (let i = 0; i < n; i++) {
    const x = u.next();
    t.true(x >= 0 && x < 1);
    s += x; s2 += x * x;
    const z = u.normal();
    g += z; g2 += z * z;
  }
  t.true(Math.abs(s / n - 0.5) < 0.01);
  t.true(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12) < 0.005);
  t.true(Math.abs(g / n) < 0.03);
  t.true(Math.abs(g2 / n - 1) < 0.05);
  const ints = new Set(Array.from({ length: 200 }, () => u.int(4)));
  t.deepEqual([...ints].sort(), [0, 1, 2, 3]);
});

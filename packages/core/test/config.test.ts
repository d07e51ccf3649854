import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, deepMerge, defineConfig, loadConfig, parseOverride, validateConfig } from '../src/config/index.js';
import { isDetkitError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'detkit-config-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const minimal = { model: { type: 'toy' }, data: { train: { type: 'shapes' } } };

test('defaults fill a minimal config; plugin sections are kept', (t) => {
  const c = validateConfig({ ...minimal, distill: { type: 'kd-detr/distill', teacher: 'x' }, myPlugin: { a: 1 } }, 'mem');
  t.is(c.seed, 42);
  t.deepEqual(c.plugins, []);
  t.is(c.data.batchSize, 2);
  t.is(c.train.maxIters, 1000);
  t.is(c.train.optimizer.type, 'adamw');
  t.is(c.train.optimizer.lr, 1e-4);
  t.is(c.train.clipGradNorm, 0.1);
  t.deepEqual(c.distill, { type: 'kd-detr/distill', teacher: 'x' });
  t.deepEqual((c as Record<string, unknown>).myPlugin, { a: 1 });
  t.is(defineConfig(minimal), minimal);
});

test('JSON config errors name the file, the key path and the bad value', async (t) => {
  const f = write('bad.json', JSON.stringify({ ...minimal, train: { lr: 0.1, maxIters: -5, optimizer: { lr: 'fast' } }, data: { train: { type: 'shapes' }, transforms: [{ type: 'flip' }, { p: 1 }] } }));
  const e = await t.throwsAsync(loadConfig(f));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  const m = e!.message;
  t.true(m.includes(f), m);
  t.regex(m, /train\.lr: unknown key \(value 0\.1\)/);
  t.regex(m, /train\.maxIters: .*\(got -5\)/);
  t.regex(m, /train\.optimizer\.lr: .*\(got "fast"\)/);
  t.regex(m, /data\.transforms\[1\]\.type: .*\(got nothing \(missing\)\)/);
});

test('TS config errors too, and a typo gets a suggestion', async (t) => {
  const f = write('bad.ts', `
    const cfg: Record<string, unknown> = { model: { type: 'toy' }, data: { train: { type: 'shapes' }, batchSize: 0 }, train: { maxIter: 10 } };
    export default cfg;`);
  const e = await t.throwsAsync(loadConfig(f));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  t.true(e!.message.includes(f));
  t.regex(e!.message, /data\.batchSize: .*\(got 0\)/);
  t.regex(e!.message, /train\.maxIter: unknown key \(value 10\); did you mean 'maxIters'\?/);
});

test('a near-miss top-level section is a typo; a distinct one is a plugin section', (t) => {
  const e = t.throws(() => validateConfig({ ...minimal, trian: { maxIters: 1 } }, 'x.json'));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  t.regex(e!.message, /trian: unknown section \(did you mean 'train'\?\)/);
  t.notThrows(() => validateConfig({ ...minimal, teacherWeights: {} }, 'x.json'));
});

test('missing required sections and wrong types are reported', (t) => {
  const e = t.throws(() => validateConfig({ data: { train: { type: 'shapes' } }, seed: 'abc' }, 'y.json'));
  t.regex(e!.message, /model: .*\(got nothing \(missing\)\)/);
  t.regex(e!.message, /seed: .*\(got "abc"\)/);
});

test('malformed JSON says where; unreadable and unsupported files fail with CONFIG_LOAD', async (t) => {
  const f = write('broken.json', '{\n  "model": { "type": "toy" },\n  "data": }\n');
  const e = await t.throwsAsync(loadConfig(f));
  t.true(isDetkitError(e, 'CONFIG_LOAD'));
  t.regex(e!.message, /line 3/);
  t.true(isDetkitError(await t.throwsAsync(loadConfig(join(dir, 'nope.json'))), 'CONFIG_LOAD'));
  t.true(isDetkitError(await t.throwsAsync(loadConfig(write('c.yaml', 'a: 1'))), 'CONFIG_LOAD'));
  t.true(isDetkitError(await t.throwsAsync(loadConfig(write('arr.json', '[1]'))), 'CONFIG_LOAD'));
});

test('deepMerge: objects merge, arrays replace, a changed type replaces the fragment', (t) => {
  const base = { a: { b: 1, c: [1, 2] }, m: { type: 'detr', layers: 6, dim: 256 }, k: 1 };
  const over = { a: { c: [9] }, m: { type: 'dino', queries: 900 } };
  t.deepEqual(deepMerge(base, over), { a: { b: 1, c: [9] }, m: { type: 'dino', queries: 900 }, k: 1 });
  t.deepEqual(deepMerge({ m: { type: 'detr', layers: 6 } }, { m: { layers: 3 } }), { m: { type: 'detr', layers: 3 } });
  t.deepEqual(base.a.c, [1, 2]); // inputs untouched
});

test('extends: TS child over JSON base over TS grandbase; relative plugin paths follow their file', async (t) => {
  write('grand.ts', `export default { seed: 1, plugins: ['./grand-plugin.js'], train: { maxIters: 10, optimizer: { lr: 0.001, weightDecay: 0.5 } } };`);
  write('base.json', JSON.stringify({ extends: './grand.ts', ...minimal, data: { train: { type: 'shapes', n: 5 }, batchSize: 4, transforms: [{ type: 'a' }, { type: 'b' }] } }));
  const f = write('child.ts', `export default { extends: './base.json', train: { optimizer: { lr: 0.01 } }, data: { transforms: [{ type: 'c' }] } };`);
  const { config, chain } = await loadConfig(f);
  t.deepEqual(chain.map((p) => p.slice(dir.length + 1)), ['child.ts', 'base.json', 'grand.ts']);
  t.is(config.seed, 1);
  t.is(config.train.maxIters, 10);
  t.is(config.train.optimizer.lr, 0.01);
  t.is(config.train.optimizer.weightDecay, 0.5);
  t.deepEqual(config.data.transforms, [{ type: 'c' }]);
  t.deepEqual(config.data.train, { type: 'shapes', n: 5 });
  t.is(config.data.batchSize, 4);
  t.deepEqual(config.plugins, [join(dir, 'grand-plugin.js')]);
  t.false('extends' in config);
});

test('extends cycle is detected', async (t) => {
  write('cyc-a.json', JSON.stringify({ extends: './cyc-b.json' }));
  const f = write('cyc-b.json', JSON.stringify({ extends: './cyc-a.json' }));
  const e = await t.throwsAsync(loadConfig(f));
  t.true(isDetkitError(e, 'CONFIG_LOAD'));
  t.regex(e!.message, /cycle/);
});

test('--set parsing: numbers, booleans, JSON, bare strings', (t) => {
  t.deepEqual(parseOverride('train.maxIters=200'), { source: 'train.maxIters=200', path: ['train', 'maxIters'], value: 200 });
  t.is(parseOverride('a=true').value, true);
  t.is(parseOverride('a=1e-4').value, 1e-4);
  t.is(parseOverride('a=null').value, null);
  t.deepEqual(parseOverride('a=[1,2]').value, [1, 2]);
  t.deepEqual(parseOverride('a={"type":"x"}').value, { type: 'x' });
  t.is(parseOverride('model.type=dab-detr').value, 'dab-detr');
  t.is(parseOverride('a="42"').value, '42');
  t.is(parseOverride('a=x=y').value, 'x=y');
  t.true(isDetkitError(t.throws(() => parseOverride('novalue')), 'CONFIG_INVALID'));
  t.true(isDetkitError(t.throws(() => parseOverride('a..b=1')), 'CONFIG_INVALID'));
  t.true(isDetkitError(t.throws(() => parseOverride('__proto__.x=1')), 'CONFIG_INVALID'));
});

test('--set applies repeated overrides, creates objects, indexes arrays, refuses scalars on the path', (t) => {
  const c = { train: { maxIters: 5 }, hooks: [{ type: 'a', n: 1 }], seed: 3 };
  const out = applyOverrides(c, ['train.maxIters=200', 'train.optimizer.lr=0.5', 'hooks.0.n=7', 'train.maxIters=300']);
  t.deepEqual(out, { train: { maxIters: 300, optimizer: { lr: 0.5 } }, hooks: [{ type: 'a', n: 7 }], seed: 3 });
  t.is(c.train.maxIters, 5);
  const e = t.throws(() => applyOverrides(c, ['seed.x=1']));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  t.regex(e!.message, /'seed' is 3, not an object/);
});

test('overrides go through validation with their key path', async (t) => {
  const f = write('ok.json', JSON.stringify(minimal));
  const { config } = await loadConfig(f, { overrides: ['train.maxIters=200', 'seed=9'] });
  t.is(config.train.maxIters, 200);
  t.is(config.seed, 9);
  const e = await t.throwsAsync(loadConfig(f, { overrides: ['train.maxIters=lots'] }));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  t.regex(e!.message, /train\.maxIters: .*\(got "lots"\)/);
});

test('jsonErrorOffset agrees with JSON.parse on valid/invalid and points at the error', async (t) => {
  const { jsonErrorOffset, lineColumn } = await import('../src/config/json-position.js');
  const cases = ['{}', '[]', '{"a":[1,2.5e3,-0.1,true,false,null,"x\\"y"]}', ' 3 ', '{"a":1,}', '[1 2]', '{"a" 1}', 'tru', '"abc', '{"a":01}', '{} x', '', '{"a":{"b":[{}]}}'];
  for (const c of cases) {
    let valid = true;
    try { JSON.parse(c); } catch { valid = false; }
    t.is(jsonErrorOffset(c) === -1, valid, c);
  }
  t.is(jsonErrorOffset('{"a":1,}'), 7);
  t.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
});

test('--set into an unknown top-level key fails with a did-you-mean; a section the config has may be set', async (t) => {
  const f = write('roots.json', JSON.stringify({ ...minimal, myPlugin: { a: 1 } }));
  const lr = await t.throwsAsync(loadConfig(f, { overrides: ['lr=1'] }));
  t.true(isDetkitError(lr, 'CONFIG_INVALID'));
  t.regex(lr!.message, /--set 'lr=1': unknown top-level key 'lr'.*did you mean 'train\.optimizer\.lr'\?/);
  const deep = await t.throwsAsync(loadConfig(f, { overrides: ['foo.bar.baz=1'] }));
  t.regex(deep!.message, /--set 'foo\.bar\.baz=1': unknown top-level key 'foo'/);
  const near = await t.throwsAsync(loadConfig(f, { overrides: ['trian.maxIters=1'] }));
  t.regex(near!.message, /did you mean 'train\.maxIters'\?/);
  const { config, overrides } = await loadConfig(f, { overrides: ['myPlugin.a=2', 'distill.x=1', 'train.maxIters=1e3'] });
  t.deepEqual((config as Record<string, unknown>).myPlugin, { a: 2 });
  t.is(config.train.maxIters, 1000);
  t.deepEqual(overrides.map((o) => o.value), [2, 1, 1000]);
});

test('numbers that overflow a double (1e999) are refused as written, in --set and in JSON configs', async (t) => {
  const e = t.throws(() => parseOverride('train.maxIters=1e999'));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  t.regex(e!.message, /the number 1e999 does not fit a double/);
  t.true(isDetkitError(t.throws(() => parseOverride('a=[1,-2E+400]')), 'CONFIG_INVALID'));
  t.is(parseOverride('a=1e308').value, 1e308);
  const f = write('huge.json', `{"model": {"type": "toy"},\n "data": {"train": {"type": "shapes"}}, "train": {"maxIters": 1e999}}`);
  const j = await t.throwsAsync(loadConfig(f));
  t.true(isDetkitError(j, 'CONFIG_INVALID'));
  t.regex(j!.message, /line 2, column \d+: the number 1e999 does not fit a double/);
});

test('validation shows non-finite values as written in JS, not as JSON null', (t) => {
  const e = t.throws(() => validateConfig({ ...minimal, train: { maxIters: Infinity, optimizer: { betas: [0.9, NaN], lr: -Infinity } } }, 'x.ts'));
  t.regex(e!.message, /train\.maxIters: .*\(got Infinity\)/);
  t.regex(e!.message, /train\.optimizer\.lr: .*\(got -Infinity\)/);
  t.notRegex(e!.message, /got null/);
});

test('findNonFiniteNumber finds overflowing literals outside strings only; formatValue names non-finite numbers', async (t) => {
  const { findNonFiniteNumber } = await import('../src/config/json-position.js');
  const { formatValue } = await import('../src/util/format-value.js');
  t.is(findNonFiniteNumber('[1, 2.5e3, "1e999"]'), undefined);
  t.deepEqual(findNonFiniteNumber('{"s": "1e999 \\" 2e999", "b": [13, 12, 1e999, 17]}'), { offset: 38, literal: '1e999' });
  t.deepEqual(findNonFiniteNumber(`[${'9'.repeat(400)}]`)?.offset, 1);
  t.is(formatValue([13, 12, Infinity, 17]), '[13,12,Infinity,17]');
  t.is(formatValue({ a: NaN, b: '\u0000x', c: -Infinity }), '{"a":NaN,"b":"\\u0000x","c":-Infinity}');
  t.is(formatValue(undefined), 'undefined');
  t.is(formatValue('x'.repeat(100), 10), '"xxxxxx...');
});

test('a .ts config loads as an ES module in a folder without "type": "module", with one copy of core and tfjs', async (t) => {
  // As a user's project has it: no package.json type, @detkit/core under node_modules. Plain
  // `node` on the built CLI code (no `--import tsx`), as `npx detkit` runs.
  const { spawnSync } = await import('node:child_process');
  const { mkdirSync, symlinkSync, statSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const core = fileURLToPath(new URL('..', import.meta.url));
  const built = join(core, 'dist/config/ts-loader.js');
  t.true(statSync(built).mtimeMs >= statSync(join(core, 'src/config/ts-loader.ts')).mtimeMs, 'packages/core/dist is older than its source: run `npm run build`');
  const project = mkdtempSync(join(tmpdir(), 'detkit-user-project-'));
  mkdirSync(join(project, 'node_modules/@detkit'), { recursive: true });
  symlinkSync(core, join(project, 'node_modules/@detkit/core'), 'dir');
  writeFileSync(join(project, 'sizes.ts'), `export const count: number = 24;\n`);
  writeFileSync(
    join(project, 'detkit.config.ts'),
    `import { defineConfig } from '@detkit/core';\nimport { count } from './sizes.js';\nconst train: { type: string; count: number } = { type: 'shapes', count };\nexport default defineConfig({ model: { type: 'toy' }, data: { train } });\n`,
  );
  const script = `const core = await import(${JSON.stringify(join(core, 'dist/index.js'))}); const c = await core.loadConfig('detkit.config.ts'); console.log(JSON.stringify(c.config.data.train));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout.trim()), { type: 'shapes', count: 24 });
  t.notRegex(r.stderr, /Platform .* has already been set/, 'a second tfjs was loaded');
});

test('paths in a config resolve against the file that declares them; --set paths against the working directory', async (t) => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'paths/base'), { recursive: true });
  write('paths/base/base.json', JSON.stringify({ ...minimal, workDir: 'runs/base', data: { train: { type: 'coco', annFile: 'ann/train.json', imageDir: '../images', label: 'stays' } } }));
  const child = write(
    'paths/child.ts',
    `export default { extends: './base/base.json', workDir: '../runs/child', distill: { teacher: { config: 'teacher.ts', checkpoint: '/abs/t.safetensors' } }, data: { val: { type: 'coco', annFile: 'https://example.com/val.json' } }, predict: { images: { type: 'images', paths: ['imgs', '/abs/img.png'] } } };`,
  );
  const { config } = await loadConfig(child);
  t.is(config.workDir, join(dir, 'runs/child'));
  t.like(config.data.train, { annFile: join(dir, 'paths/base/ann/train.json'), imageDir: join(dir, 'paths/images'), label: 'stays' });
  t.deepEqual(config.distill, { teacher: { config: join(dir, 'paths/teacher.ts'), checkpoint: '/abs/t.safetensors' } });
  t.like(config.data.val, { annFile: 'https://example.com/val.json' });
  t.deepEqual((config.predict as { images: { paths: string[] } }).images.paths, [join(dir, 'paths/imgs'), '/abs/img.png']);
  const set = await loadConfig(child, { overrides: ['workDir=out/here', 'data.train.annFile=a.json', 'train.maxIters=3'] });
  t.is(set.config.workDir, join(process.cwd(), 'out/here'));
  t.like(set.config.data.train, { annFile: join(process.cwd(), 'a.json') });
  // A config without workDir: the default is relative to the working directory.
  const plain = write('paths/plain.json', JSON.stringify(minimal));
  t.is((await loadConfig(plain)).config.workDir, 'work_dirs/run');
});

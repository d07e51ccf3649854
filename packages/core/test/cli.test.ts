import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detkit, templateConfig } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'detkit-cli-'));

test('list --config shows the template plugin names with the plugin that registered them', async (t) => {
  const r = await detkit(['list', '--config', templateConfig]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^plugins: .*template@0\.1\.0/m);
  t.regex(r.stdout, /^detector \(\d+\)$/m);
  t.regex(r.stdout, /^ {2}template\/tiny-detector +template +three stride-2 convs/m);
  t.regex(r.stdout, /^ {2}template\/iteration-counter +template +counts iterations/m);
});

test('list <kind> --json gives that kind only, machine-readable', async (t) => {
  const r = await detkit(['list', 'hook', '--json', '--config', templateConfig], { DETKIT_NO_BUILTINS: '1' });
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { plugins: Array<{ name: string }>; kinds: Record<string, Array<{ name: string; plugin: string }>> };
  t.deepEqual(out.plugins.map((p) => p.name), ['template']);
  t.deepEqual(Object.keys(out.kinds), ['hook']);
  t.deepEqual(out.kinds.hook!.map((e) => [e.name, e.plugin]), [['template/iteration-counter', 'template']]);
});

test('list of an unknown kind: one error line with a suggestion, exit 3', async (t) => {
  const r = await detkit(['list', 'detectr'], { DETKIT_NO_BUILTINS: '1' });
  t.is(r.code, 3);
  t.regex(r.stderr, /^error \[REGISTRY_UNKNOWN\]: No kind 'detectr'\. Did you mean 'detector'\?/);
  t.notRegex(r.stderr, /\n\s+at /); // no stack
});

test('a subcommand whose parts are not built yet says so in one clear line, exit 2', async (t) => {
  const r = await detkit(['demo'], { DETKIT_NO_BUILTINS: '1' });
  t.is(r.code, 2);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /^error \[NOT_IMPLEMENTED\]: detkit demo is not available yet: missing dataset 'mnist-detection'/);
});

test('config errors: key path and value, no stack (stack with DETKIT_DEBUG=1); --set reaches validation', async (t) => {
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ model: { type: 'x' }, data: { train: { type: 'y' } }, train: { lr: 1 } }));
  const [plain, debug, set] = await Promise.all([
    detkit(['train', f]),
    detkit(['train', f], { DETKIT_DEBUG: '1' }),
    detkit(['train', f, '--set', 'train.lr=null', '--set', 'train.maxIters=lots']),
  ]);
  t.is(plain.code, 3);
  t.regex(plain.stderr, /^error \[CONFIG_INVALID\]: Invalid config .*c\.json:\n {2}train\.lr: unknown key \(value 1\)/);
  t.notRegex(plain.stderr, /\n\s+at /);
  t.is(debug.code, 3);
  t.regex(debug.stderr, /\n\s+at .*validate/);
  t.is(set.code, 3);
  t.regex(set.stderr, /train\.maxIters: .*\(got "lots"\)/);
});

test('usage errors exit 64; --help exits 0 and documents exit codes', async (t) => {
  const [usage, help] = await Promise.all([detkit(['train']), detkit(['--help'])]);
  t.is(usage.code, 64);
  t.regex(usage.stderr, /missing required argument 'config'/);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes:/);
  t.regex(help.stdout, /list \[options\] \[kind\]/);
});

test('train runs the template config end to end through the Runner (a few iterations)', async (t) => {
  const workDir = join(dir, 'train-run');
  const r = await detkit(
    [
      'train', templateConfig, '--backend', 'wasm', '--work-dir', workDir, '--seed', '3',
      '--set', 'train.maxIters=4', '--set', 'data.train.count=16', '--set', 'data.val.count=8',
      '--set', 'customHooks=[{"type":"template/iteration-counter","every":2}]',
    ],
    { DETKIT_LOG_LEVEL: 'info' },
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /template: 2 iterations seen \(iter 2,/);
  t.regex(r.stderr, /template: 4 iterations seen \(iter 4,/);
  t.regex(r.stderr, /train finished at iteration 4/);
  const { readFileSync } = await import('node:fs');
  const resolved = JSON.parse(readFileSync(join(workDir, 'config.resolved.json'), 'utf8'));
  t.is(resolved.train.maxIters, 4);
  t.is(resolved.seed, 3);
  t.is(resolved.workDir, workDir);
  t.is(resolved.source, templateConfig);
});

test('--backend webgpu with no adapter exits 4, naming what was tried', async (t) => {
  // No Vulkan driver at all, and no SwiftShader to fall back on.
  const r = await detkit(['train', templateConfig, '--backend', 'webgpu'], { VK_DRIVER_FILES: '/nonexistent/icd.json', DETKIT_SWIFTSHADER_ICD: '/nonexistent/swiftshader.json' });
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, /^error \[BACKEND_UNAVAILABLE\]: backend 'webgpu' \(from option backend\) is unavailable: webgpu: .*(no WebGPU adapter.*SwiftShader|'webgpu' package .* not loadable)/m);
});

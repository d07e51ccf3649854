// detkit export web / detkit web without a browser: the browser entry's import graph, the
// static server, the manifest and the command's refusals. The page itself is tested in a real
// browser by packages/kd-detr/test/web-page.test.ts.
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { isDetkitError } from '../src/errors.js';
import { bundleBrowser, CORE_BROWSER_ENTRY } from '../src/web/bundle-page.js';
import { serveSite } from '../src/web/serve-site.js';
import { parseSiteManifest, SITE_FORMAT } from '../src/web/site-manifest.js';
import { detkit, repo } from './cli-helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'detkit-web-site-'));
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const TEACHER = join(repo, 'checkpoints/dab-detr-mnist-teacher.safetensors');

test('the browser entry bundles for platform browser, and no detkit module in it imports a Node built-in', async (t) => {
  const { metafile, code } = await bundleBrowser({ entryPoints: [CORE_BROWSER_ENTRY] });
  const ours = Object.entries(metafile.inputs).filter(([file]) => !file.includes('node_modules/'));
  const reached = ours.flatMap(([file, input]) => input.imports.map((i) => ({ file, path: i.path })));
  const bad = reached.filter((i) => builtins.has(i.path) || builtins.has(i.path.replace('(disabled):', '')));
  t.deepEqual(bad, []);
  t.true(ours.some(([file]) => file.endsWith('src/browser.ts')) && ours.some(([file]) => file.endsWith('checkpoint/safetensors-codec.ts')));
  t.false(ours.some(([file]) => /checkpoint\/safetensors\.ts|checkpoint\/checkpoint\.ts|config\/load\.ts/.test(file)), 'file I/O modules stay out');
  // Third-party packages may stub Node modules through their "browser" field; list them.
  const stubs = Object.keys(metafile.inputs).filter((f) => f.startsWith('(disabled)'));
  t.log(`bundle ${(code.byteLength / 1e6).toFixed(2)} MB, ${ours.length} detkit modules; packages' browser stubs: ${stubs.join(', ') || 'none'}`);
});

test('bundling a module that imports a Node built-in fails with PLUGIN_INVALID naming the module and the built-in', async (t) => {
  const dir = tmp();
  const file = join(dir, 'node-plugin.js');
  writeFileSync(file, "import { readFileSync } from 'node:fs';\nexport default { name: 'x', version: '0', register() { readFileSync('a'); } };\n");
  const e = await t.throwsAsync(bundleBrowser({ entryPoints: [file] }));
  t.true(isDetkitError(e, 'PLUGIN_INVALID'), String(e));
  t.regex(e!.message, /node-plugin\.js:1: it imports the Node built-in 'node:fs'/);
  // And core's Node entry is refused the same way: the split is what keeps the browser entry clean.
  const core = await t.throwsAsync(bundleBrowser({ entryPoints: [CORE_BROWSER_ENTRY.replace('browser.ts', 'index.ts')] }));
  t.true(isDetkitError(core, 'PLUGIN_INVALID'), String(core));
});

test('parseSiteManifest names the key at fault', (t) => {
  const good = { format: SITE_FORMAT, name: 'm', model: { type: 'dab-detr' }, transforms: [], classNames: ['a'], drawSize: 64, weights: 'w.safetensors', checkpoint: { file: 'c' }, detkitVersion: '0' };
  t.is(parseSiteManifest(good, 'model.json').name, 'm');
  t.throws(() => parseSiteManifest({ ...good, drawSize: 3 }, 'model.json'), { message: "model.json: 'drawSize' must be an integer >= 8, got 3" });
  t.throws(() => parseSiteManifest({ ...good, weights: '../x' }, 'model.json'), { message: /'weights' must be a file name beside the manifest/ });
  t.throws(() => parseSiteManifest({ ...good, format: 'other' }, 'model.json'), { message: /'format' must be 'detkit-web\/1', got "other"/ });
});

test('serveSite serves a site folder on 127.0.0.1 (wasm as application/wasm), nothing outside it, and refuses a folder without index.html', async (t) => {
  const dir = tmp();
  const e = await t.throwsAsync(serveSite(dir, { port: 0 }));
  t.true(isDetkitError(e, 'INVALID_ARGUMENT'));
  t.regex(e!.message, /has no index\.html/);
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  writeFileSync(join(dir, 'site', 'index.html'), '<p>hi</p>');
  const wasm = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm').replace(/[^/]+$/, 'tfjs-backend-wasm.wasm');
  writeFileSync(join(dir, 'site', 'a.wasm'), readFileSync(wasm));
  const served = await serveSite(join(dir, 'site'), { port: 0 });
  try {
    t.regex(served.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    t.is(await (await fetch(served.url)).text(), '<p>hi</p>');
    const w = await fetch(`${served.url}a.wasm`);
    t.is(w.headers.get('content-type'), 'application/wasm');
    t.is((await w.arrayBuffer()).byteLength, readFileSync(wasm).byteLength);
    t.is((await fetch(`${served.url}..%2fsecret.txt`)).status, 404);
    // A busy port is an IO error naming it.
    const busy = await serveSite(join(dir, 'site'), { port: Number(new URL(served.url).port) }).catch((x: unknown) => x);
    t.true(isDetkitError(busy, 'IO') && /127\.0\.0\.1:\d+/.test((busy as Error).message), String(busy));
  } finally {
    await served.close();
  }
});

test.serial('detkit export web: a site from the CLI; a checkpoint that does not fit the config writes nothing; an existing --out needs --force; detkit export CKPT still exports weights', async (t) => {
  const dir = tmp();
  const out = join(dir, 'site');
  const ok = await detkit(['export', 'web', 'configs/dab-detr/mnist-teacher.ts', '--checkpoint', TEACHER, '--out', out, '--backend', 'wasm']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /wrote the site .*site: .*weights\.safetensors 9\.17 MB.*bundle \+ weights \d+\.\d\d MB\nserve it: npx detkit web .*site\n$/s);
  for (const f of ['index.html', 'detkit-page.js', 'model.json', 'weights.safetensors', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) t.true(existsSync(join(out, f)), f);
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  t.like(manifest, { format: SITE_FORMAT, name: 'mnist-teacher', drawSize: 64, weights: 'weights.safetensors', checkpoint: { file: 'dab-detr-mnist-teacher.safetensors', iter: 5000 } });
  t.is(manifest.model.numEncoderLayers, 3);

  const again = await detkit(['export', 'web', 'configs/dab-detr/mnist-teacher.ts', '--checkpoint', TEACHER, '--out', out, '--backend', 'wasm']);
  t.is(again.code, 3);
  t.regex(again.stderr, /error \[INVALID_ARGUMENT\]: --out .*site already exists; pass --force to replace it/);

  const wrong = join(dir, 'wrong');
  const mismatch = await detkit(['export', 'web', 'configs/dab-detr/mnist-student.ts', '--checkpoint', TEACHER, '--out', wrong, '--backend', 'wasm']);
  t.is(mismatch.code, 4);
  t.regex(mismatch.stderr, /error \[STATE_DICT_MISMATCH\]/);
  t.false(existsSync(wrong));
  t.deepEqual(readFileSync(join(out, 'model.json'), 'utf8'), JSON.stringify(manifest, null, 2) + '\n');

  const weights = await detkit(['export', TEACHER, '--out', join(dir, 'w.safetensors'), '--backend', 'wasm']);
  t.is(weights.code, 0, weights.stderr);
  t.regex(weights.stdout, /wrote 263 tensors \(iteration 5000\) to .*w\.safetensors/, 'a weights file re-exported keeps its iteration');
});

test.serial('detkit export --metrics records the metrics of `detkit eval --json` in the weights file; a bad metrics file writes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-export-metrics-'));
  const metricsFile = join(dir, 'eval.json');
  writeFileSync(metricsFile, JSON.stringify({ AP: 0.7345, AP50: 0.9337 }));
  const out = join(dir, 'w.safetensors');
  const ok = await detkit(['export', TEACHER, '--out', out, '--metrics', metricsFile]);
  t.is(ok.code, 0, ok.stderr);
  const bytes = readFileSync(out);
  const metadata = (JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__;
  t.deepEqual(JSON.parse(metadata?.metrics ?? 'null'), { AP: 0.7345, AP50: 0.9337 });
  t.is(metadata?.metricsIter, '5000');
  for (const [name, text, why] of [
    ['nan.json', '{"AP": "high"}', /'AP' is "high", not a finite number/],
    ['list.json', '[0.7]', /expected an object of metric name -> number/],
    ['broken.json', '{"AP": ', /not a readable JSON file/],
  ] as const) {
    writeFileSync(join(dir, name), text);
    const target = join(dir, `${name}.safetensors`);
    const bad = await detkit(['export', TEACHER, '--out', target, '--metrics', join(dir, name)]);
    t.is(bad.code, 3, name);
    t.regex(bad.stderr, new RegExp(`--metrics .*${name.replace('.', '\\.')}`), name);
    t.regex(bad.stderr, why, name);
    t.false(existsSync(target), `${name}: nothing written`);
  }
});

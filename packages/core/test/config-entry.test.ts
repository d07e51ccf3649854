// @detkit/core/config: what config files import. It must load no tfjs, so a config extended from
// another install (a clone, another project) brings no second tfjs into the run. Issue #11.
import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repo } from './cli-helpers.js';
import { twoInstalls } from './two-installs.js';

const here = dirname(fileURLToPath(import.meta.url));
const TWO_TFJS = /Platform node has already been set/;

/** Imports `specifier` in a fresh node (source, as the tests run) where any @tensorflow/* import throws. */
function importBlockingTfjs(specifier: string): Promise<{ ok: boolean; out: string }> {
  const script = `const m = await import('${specifier}');
const engine = ['_tfengine', '_tfGlobals'].filter((k) => k in globalThis);
if (engine.length) throw new Error('tfjs globals present: ' + engine.join(', '));
console.log(Object.keys(m).join(','));`;
  const args = ['--import', 'tsx', '--conditions=source', '--import', join(here, 'block-tfjs.mjs'), '--input-type=module', '-e', script];
  return new Promise((done) => {
    execFile(process.execPath, args, { cwd: here }, (err, stdout, stderr) => done({ ok: !err, out: err ? stderr : stdout.trim() }));
  });
}

test('importing @detkit/core/config loads no tfjs (and the blocking harness does catch @detkit/core)', async (t) => {
  const entry = await importBlockingTfjs('@detkit/core/config');
  t.true(entry.ok, entry.out);
  t.is(entry.out, 'defineConfig');
  const control = await importBlockingTfjs('@detkit/core');
  t.false(control.ok);
  t.regex(control.out, /blocked: @tensorflow\/tfjs[\w-]* imported by/);
});

test('a config extended from another install: @detkit/core/config adds no second tfjs, @detkit/core did', async (t) => {
  const two = twoInstalls();
  t.teardown(two.remove);
  const base = (from: string) => `import { defineConfig } from '${from}';\nexport default defineConfig({ seed: 7, model: { type: 'm' }, data: { train: { type: 'd' } } });\n`;
  two.write('clone/base-entry.ts', base('@detkit/core/config'));
  two.write('clone/base-index.ts', base('@detkit/core'));
  const entry = two.write('user/entry.ts', `export default { extends: '../clone/base-entry.ts', workDir: 'w' };\n`);
  const index = two.write('user/index.ts', `export default { extends: '../clone/base-index.ts', workDir: 'w' };\n`);
  const [viaEntry, viaIndex] = await two.load(entry, index);
  t.is(viaEntry!.seed, 7);
  t.deepEqual(viaEntry!.warnings, []);
  // The harness reproduces the issue's symptom with the old import, so the test above can fail.
  t.is(viaIndex!.seed, 7);
  t.regex(viaIndex!.warnings.join('\n'), TWO_TFJS);
});

test("the repo's configs and the plugin template's, extended from another install, load no second tfjs", async (t) => {
  const two = twoInstalls();
  t.teardown(two.remove);
  const configs: string[] = [];
  // configs/_base: fragments the configs import (no config of their own): copied, not loaded.
  const fragments: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ts$/.test(e)) (basename(d) === '_base' ? fragments : configs).push(relative(repo, p));
    }
  };
  walk(join(repo, 'configs'));
  configs.push('examples/plugin-template/detkit.config.ts');
  t.true(configs.length >= 6, configs.join(', '));
  for (const f of fragments) cpSync(join(repo, f), join(two.dir, 'clone', f));
  const users = configs.map((c, i) => {
    cpSync(join(repo, c), join(two.dir, 'clone', c));
    return two.write(`user/extends-${i}.ts`, `export default { extends: ${JSON.stringify(`../clone/${c}`)} };\n`);
  });
  // kd-detr configs extend ../dab-detr/mnist-student.ts: copied with the rest. One process for
  // all: only the first config to load a second tfjs warns, so a failure names that one.
  for (const [i, r] of (await two.load(...users)).entries()) {
    t.deepEqual(r.warnings, [], `${configs[i]} (${readFileSync(join(repo, configs[i]!), 'utf8').match(/^import .*$/m)?.[0]}) loaded a second tfjs`);
  }
});

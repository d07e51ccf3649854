// Every package is publishable on its own: metadata, a LICENSE and README in the tarball, no
// build info or tests shipped, and the detkit/tfjs packages it imports declared as peers (so a
// user's install holds one @detkit/core and one @tensorflow/tfjs-core). Issue #11.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repo } from './cli-helpers.js';

const PACKAGES = ['core', 'datasets', 'detectors', 'hooks', 'kd-detr'];
/** Packages a plugin must share with core's copy: a second copy would be a second registry/engine. */
const SHARED = /^(@detkit\/[\w-]+|@tensorflow\/tfjs-core)$/;

interface Manifest {
  name: string;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as Manifest;

/** Packed file paths per package name, as `npm pack` would put them in the tarballs. */
const packed = promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--workspaces', '--ignore-scripts'], { cwd: repo, maxBuffer: 64 << 20 }).then(
  ({ stdout }) => new Map((JSON.parse(stdout) as Array<{ name: string; files: Array<{ path: string }> }>).map((p) => [p.name, p.files.map((f) => f.path)])),
);

/** Bare specifiers of every import in a package's src (`@scope/name` or `name`). */
function importedPackages(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ts$/.test(entry)) {
        for (const m of readFileSync(path, 'utf8').matchAll(/(?:from|import\()\s*'((?:@[\w-]+\/)?[\w-]+)[^']*'/g)) found.add(m[1]!);
      }
    }
  };
  walk(join(repo, 'packages', dir, 'src'));
  return found;
}

for (const dir of PACKAGES) {
  test(`${dir}: license, repository and engines`, (t) => {
    const m = manifest(dir);
    t.is(m.license, 'MIT');
    t.deepEqual(m.repository, { type: 'git', url: 'https://github.com/detkit/detkit.git', directory: `packages/${dir}` });
    t.is(m.engines?.node, '>=20');
  });

  test(`${dir}: the tarball holds LICENSE, README and the build, not build info or tests`, async (t) => {
    const files = (await packed).get(manifest(dir).name);
    if (!files) return t.fail(`npm pack --workspaces listed no ${manifest(dir).name}`);
    for (const want of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
      t.true(files.includes(want), `${want} missing from the tarball${want.startsWith('dist/') ? ' (not built? npm run build)' : ''}`);
    }
    t.deepEqual(files.filter((f) => /\.tsbuildinfo$|^test\/|\.test\.ts$/.test(f)), []);
  });

  test(`${dir}: detkit and tfjs-core packages it imports are peers, never its own copies`, (t) => {
    const m = manifest(dir);
    const shared = [...importedPackages(dir)].filter((p) => SHARED.test(p) && p !== m.name);
    if (dir === 'core') {
      t.deepEqual(Object.keys(m.peerDependencies ?? {}), [], 'core owns tfjs: no peers');
      return;
    }
    t.true(shared.includes('@detkit/core'), 'every plugin package imports @detkit/core');
    for (const p of shared) {
      t.truthy(m.peerDependencies?.[p], `${p} is imported by ${dir}/src: list it in peerDependencies`);
      t.falsy(m.dependencies?.[p], `${p} in dependencies would install a second copy`);
    }
  });
}

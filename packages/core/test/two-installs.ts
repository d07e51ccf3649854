/**
 * Two installs of detkit side by side, as when a user's config `extends` a config in a clone:
 * DIR/user and DIR/clone each get a node_modules (links to this repo's), and node runs with
 * --preserve-symlinks so each path is its own copy of @detkit/core and tfjs, as two real
 * installs would be.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repo } from './cli-helpers.js';

export interface TwoInstalls {
  dir: string;
  /** Writes a file under DIR (`user/...` or `clone/...`). */
  write(path: string, text: string): string;
  /** Loads each user config with the user's core: per file, its merged seed and console warnings. */
  load(...configs: string[]): Promise<Array<{ file: string; seed: number; warnings: string[] }>>;
  /** Deletes DIR (the node_modules links, not what they point to). */
  remove(): void;
}

// Runs in the user's install: records console.warn per config (tfjs warns there on a second copy).
const LOADER = `import { loadConfig } from '@detkit/core';
const warnings = [];
console.warn = (...args) => warnings.push(args.join(' '));
const out = [];
for (const file of process.argv.slice(2)) {
  warnings.length = 0;
  const { config } = await loadConfig(file);
  out.push({ file, seed: config.seed, warnings: [...warnings] });
}
console.log(JSON.stringify(out));
`;

export function twoInstalls(): TwoInstalls {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-two-installs-'));
  const write = (path: string, text: string): string => {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  for (const side of ['user', 'clone']) {
    mkdirSync(join(dir, side));
    symlinkSync(join(repo, 'node_modules'), join(dir, side, 'node_modules'));
  }
  const loader = write('user/load.mjs', LOADER);
  const load: TwoInstalls['load'] = (...configs) =>
    new Promise((done, fail) => {
      const args = ['--preserve-symlinks', '--import', 'tsx', '--conditions=source', loader, ...configs];
      execFile(process.execPath, args, { cwd: join(dir, 'user') }, (err, stdout, stderr) => {
        if (err) fail(new Error(`load.mjs failed: ${stderr || err.message}`));
        else done(JSON.parse(stdout) as Awaited<ReturnType<TwoInstalls['load']>>);
      });
    });
  return { dir, write, load, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

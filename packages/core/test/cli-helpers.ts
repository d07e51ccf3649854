/** Running the CLI from source in a child process, as the CLI tests do. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../..');
export const cliMain = join(repo, 'packages/core/src/cli/main.ts');
export const templateConfig = join(repo, 'examples/plugin-template/detkit.config.ts');

export interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * The CLI as users run it from source: node --import tsx --conditions=source main.ts ...
 * `onStart` gets the child (to send it signals) and its growing stderr.
 */
export function detkit(args: string[], env: Record<string, string> = {}, onStderr?: (child: ChildProcess, stderr: string) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', cliMain, ...args], {
      cwd: repo,
      env: { ...process.env, DETKIT_LOG_LEVEL: 'warn', DETKIT_DEBUG: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => {
      stderr += b;
      onStderr?.(child, stderr);
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** A few iterations of the template's tiny detector on the wasm backend (about 2 s here). */
export function tinyTrainArgs(workDir: string, iters: number, ...extra: string[]): string[] {
  return [
    'train', templateConfig, '--backend', 'wasm', '--work-dir', workDir,
    '--set', `train.maxIters=${iters}`, '--set', 'data.train.count=16', '--set', 'data.val.count=8',
    '--set', 'customHooks=[]', '--set', 'defaultHooks={"logger":{"interval":1},"checkpoint":{"interval":2},"progress":false,"eval":false}',
    ...extra,
  ];
}

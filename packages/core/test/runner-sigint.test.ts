import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import '@tensorflow/tfjs-backend-cpu';

test('first SIGINT: the iteration finishes, latest.safetensors is written, train() resolves stopped', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'detkit-sigint-'));
  const script = fileURLToPath(new URL('./toy-sigint-script.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, workDir], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exitCode = await new Promise<number | null>((resolve) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('READY') && !child.killed) child.kill('SIGINT');
    });
    // A loop that never yields to the event loop would ignore the signal: fail, don't hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => (clearTimeout(guard), resolve(code)));
  });
  t.is(exitCode, 0, stderr);
  const result = JSON.parse(stdout.trim().split('\n').pop()!);
  t.true(result.stopped);
  t.regex(result.reason, /SIGINT/);
  t.is(result.listeners, 0, 'handler removed after train()');
  const path = join(workDir, 'latest.safetensors');
  t.true(existsSync(path));
  const ck = await loadCheckpoint(path);
  t.is(ck.meta.iter, result.iter);
  ck.dispose();
});

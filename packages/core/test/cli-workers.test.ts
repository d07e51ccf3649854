import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const main = join(repo, 'packages/core/src/cli/main.ts');

/** A tiny DAB-DETR on 32x32 shapes (builtin plugins): a step takes tens of ms. */
function tinyConfig(maxIters: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-workers-'));
  const file = join(dir, 'tiny.json');
  writeFileSync(
    file,
    JSON.stringify({
      seed: 1,
      workDir: join(dir, 'run'),
      model: { type: 'dab-detr', numClasses: 3, backbone: { type: 'small-cnn', channels: [8, 16] }, hiddenDim: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 32, numQueries: 5 },
      data: { train: { type: 'shapes', count: 64, canvasSize: 32 }, batchSize: 4 },
      train: { maxIters, logInterval: 1, checkpointInterval: 0 },
      hooks: [{ type: 'logger', interval: 1 }],
    }),
  );
  return file;
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }

/** The CLI from source; `onLine` sees each stderr line (to send a signal at the right time). */
function detkit(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', main, ...args], {
      cwd: repo,
      env: { ...process.env, DETKIT_LOG_LEVEL: 'info', DETKIT_DEBUG: '', DETKIT_BACKEND: 'wasm' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => {
      const text = b.toString();
      stderr += text;
      for (const line of text.split('\n')) onLine?.(line, child);
    });
    // A process that does not exit (a worker thread left running) fails the test instead of hanging it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', fail);
    child.on('exit', (code, signal) => (clearTimeout(guard), done({ code, signal, stderr, ms: Date.now() - t0 })));
  });
}

test('--workers 0, 1.5 or two: exit 3 naming train.workers', async (t) => {
  const file = tinyConfig(1);
  const runs = await Promise.all(['0', '1.5', 'two'].map((w) => detkit(['train', file, '--workers', w])));
  for (const r of runs) {
    t.is(r.code, 3, r.stderr);
    t.regex(r.stderr, /error \[CONFIG_INVALID\]:.*\n?.*train\.workers/);
  }
});

test('Ctrl-C on a 2-worker run: the iteration ends, rank 0 writes latest.safetensors, the workers end and the process exits 130; more workers than cores warn and train; SIGTERM stops as gracefully (exit 143, latest written)', async (t) => {
  const file = tinyConfig(100_000);
  let sent = false;
  const r = await detkit(['train', file, '--workers', '2'], (line, child) => {
    if (!sent && /iter 2\//.test(line)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  t.true(sent, r.stderr);
  t.is(r.code, 130, r.stderr);
  const latest = join(dirname(file), 'run', 'latest.safetensors');
  t.true(existsSync(latest));
  const ck = await loadCheckpoint(latest);
  t.true(ck.meta.iter >= 2);
  ck.dispose();

  const workers = availableParallelism() + 1;
  let killed = false;
  // --force: the work dir holds the interrupted run above (a plain repeat is refused).
  const term = await detkit(['train', file, '--workers', String(workers), '--force'], (line, child) => {
    if (!killed && /iter 1\//.test(line)) {
      killed = true;
      child.kill('SIGTERM');
    }
  });
  t.regex(term.stderr, new RegExp(`train\\.workers=${workers} is more than the ${availableParallelism()} CPU core`));
  t.regex(term.stderr, new RegExp(`data-parallel: ${workers} ranks`));
  t.true(killed, term.stderr);
  t.is(term.code, 143, term.stderr);
  const again = await loadCheckpoint(latest);
  t.true(again.meta.iter >= 1);
  again.dispose();
});

// runJobs (the demo's and the experiments' child-process scheduler) when a run fails: by default
// it starts nothing more and stops the running siblings with SIGTERM (each leaves its checkpoint);
// with keepGoing the other runs finish and the error names every failed run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { isDetkitError } from '@detkit/core';
import { runJobs, type ProgressMessage, type TrainingJob } from '../src/experiments.js';
import { tmp, writeTinyRunConfig } from './helpers.js';

/** A job training a tiny model on cpu for `maxIters` iterations, in its own folder. */
function job(name: string, maxIters: number, checkpointEvery?: number): TrainingJob & { dir: string } {
  const dir = tmp();
  const configFile = writeTinyRunConfig(dir, { maxIters, evalInterval: maxIters, logInterval: 1000 }, {}, 16);
  return { name, configFile, logFile: join(dir, 'train.log'), dir, ...(checkpointEvery ? { checkpointEvery } : {}) };
}

/** A job whose config file does not exist: its child fails at once. */
function broken(name: string): TrainingJob {
  const dir = tmp();
  return { name, configFile: join(dir, 'missing.json'), logFile: join(dir, 'train.log') };
}

test.serial('keepGoing: the run after a failed one still finishes; the error names the failed run and says the others are kept', async (t) => {
  const good = job('good', 2);
  const e = await t.throwsAsync(runJobs([broken('bad'), good], 1, () => {}, { keepGoing: true }));
  t.true(isDetkitError(e) && e.code === 'IO', String(e));
  t.regex(e!.message, /1 of 2 runs failed \(the others finished and are kept\)/);
  t.regex(e!.message, /run 'bad' failed/);
  t.true(existsSync(join(good.dir, 'result.json')), 'the good run finished');
});

test.serial('by default a failure starts no further run', async (t) => {
  const good = job('good', 2);
  const e = await t.throwsAsync(runJobs([broken('bad'), good], 1, () => {}));
  t.regex(e!.message, /^run 'bad' failed/);
  t.false(existsSync(good.logFile), 'the next run never started');
});

test.serial('by default a failure stops the running sibling with SIGTERM: it leaves its checkpoint and no result', async (t) => {
  const long = job('long', 100_000, 1);
  const doomed = job('doomed', 100_000);
  let killed = false;
  // Once both runs are iterating, the second dies (SIGKILL, as an out-of-memory kill would).
  const onMessage = (m: ProgressMessage) => {
    if (!killed && m.type === 'iter' && m.name === 'long' && m.iter >= 3) {
      killed = true;
      execFileSync('pkill', ['-KILL', '-f', doomed.configFile]);
    }
  };
  const e = await t.throwsAsync(runJobs([long, doomed], 2, onMessage));
  t.true(killed);
  t.regex(e!.message, /^run 'doomed' failed/, 'the first failure is reported, not the stopped sibling');
  t.false(existsSync(join(long.dir, 'result.json')));
  t.true(existsSync(join(long.dir, 'latest.safetensors')), 'the stopped run can resume');
  t.regex(readFileSync(long.logFile, 'utf8'), /SIGTERM/);
});

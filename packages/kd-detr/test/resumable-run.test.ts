// Experiment runs survive the end of a session: trainConfigFile with `checkpointEvery` writes
// periodic checkpoints (adding a checkpoint hook where the config lists its own hooks) and a run
// whose work dir holds one resumes from it; the resumed run ends where the uninterrupted one does
// and its history keeps the evaluations made before the resume.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { isDetkitError, readCheckpointMeta, silentLogger, type Logger } from '@detkit/core';
import { startFromEarlierRun } from '../src/demo/extend-run.js';
import { trainConfigFile, type TrainingResult } from '../src/demo/run-training.js';
import { captureLogger, tmp, writeTinyRunConfig } from './helpers.js';

function writeConfig(dir: string, maxIters: number, hooks?: object[]): string {
  return writeTinyRunConfig(dir, { maxIters, evalInterval: 2 }, hooks ? { hooks } : {});
}

/** Trains `file`; `iters` collects the iterations this process ran. */
const train = (file: string, checkpointEvery?: number, iters: number[] = [], logger: Logger = silentLogger): Promise<TrainingResult> =>
  trainConfigFile(file, 'run', (m) => m.type === 'iter' && iters.push(m.iter), logger, { checkpointEvery });

test.serial('a run stopped after its checkpoint resumes from it and ends as the uninterrupted run; earlier evaluations stay in its history', async (t) => {
  const whole = tmp();
  const straight = await train(writeConfig(whole, 6));
  const dir = tmp();
  const first = await train(writeConfig(dir, 4), 2);
  t.deepEqual(first.history.map((h) => h.iter), [2, 4]);
  t.true(readdirSync(dir).some((n) => /^iter_\d+\.safetensors$/.test(n)), 'periodic checkpoints written');
  // As if the session ended after iteration 4: the config now asks for 6 iterations.
  rmSync(join(dir, 'result.json'));
  const ran: number[] = [];
  const logger = captureLogger();
  const resumed = await train(writeConfig(dir, 6), 2, ran, logger);
  t.deepEqual(ran, [5, 6], 'only the iterations after the checkpoint ran');
  t.true(logger.lines.some((l) => /run: resuming from .*(latest|iter_00000004)\.safetensors/.test(l)), logger.lines.join('\n'));
  t.is(resumed.iters, 6);
  t.deepEqual(resumed.history.map((h) => h.iter), [2, 4, 6]);
  t.deepEqual(resumed.final, straight.final, 'resuming is bit-identical to running through');
  t.deepEqual(resumed.history[0]!.metrics, straight.history[0]!.metrics);
});

test.serial('listed hooks without a checkpoint hook get one; without checkpointEvery nothing is written or resumed', async (t) => {
  const dir = tmp();
  await train(writeConfig(dir, 2, [{ type: 'logger', interval: 100 }, { type: 'eval', interval: 2 }]), 1);
  t.true(readdirSync(dir).some((n) => /^iter_\d+\.safetensors$/.test(n)));
  const plain = tmp();
  await train(writeConfig(plain, 2, [{ type: 'logger', interval: 100 }, { type: 'eval', interval: 2 }]));
  t.false(readdirSync(plain).some((n) => n.endsWith('.safetensors')));
  t.false(existsSync(join(plain, 'latest.safetensors')));
});

test.serial('a run stopped before its last iteration (SIGTERM) writes no result.json, fails with INTERRUPTED and resumes from latest', async (t) => {
  const dir = tmp();
  const file = writeConfig(dir, 6);
  // The runner's own signal handler stops the run after iteration 3, as a kill or the end of a session would.
  const stopAt3 = (m: { type: string; iter?: number }) => m.type === 'iter' && m.iter === 3 && process.emit('SIGTERM', 'SIGTERM');
  const e = await t.throwsAsync(trainConfigFile(file, 'run', stopAt3, silentLogger, { checkpointEvery: 2 }));
  t.true(isDetkitError(e, 'INTERRUPTED'), String(e));
  t.regex(e!.message, /run: stopped at iteration 3 of 6/);
  t.false(existsSync(join(dir, 'result.json')), 'an unfinished run must not look finished to the experiments');
  t.true(existsSync(join(dir, 'latest.safetensors')));
  const ran: number[] = [];
  const resumed = await train(file, 2, ran);
  t.deepEqual(ran, [4, 5, 6]);
  t.is(resumed.iters, 6);
});

test.serial('a run whose config changed since its checkpoint (here its rate) is refused naming the key, not silently resumed; allowConfigChange branches on purpose', async (t) => {
  const dir = tmp();
  await train(writeConfig(dir, 2), 2);
  rmSync(join(dir, 'result.json'));
  // The extended leg differs in more than its length: the slip that once mixed two KD weightings in one run.
  const changed = writeTinyRunConfig(dir, { maxIters: 4, evalInterval: 2, optimizer: { type: 'adamw', lr: 5e-4 } });
  const ran: number[] = [];
  const e = await t.throwsAsync(train(changed, 2, ran));
  t.true(isDetkitError(e, 'RESUME_CONFIG_CHANGED'), String(e));
  t.regex(e!.message, /train\.optimizer\.lr: 0\.0001 -> 0\.0005/);
  t.deepEqual(ran, [], 'no step ran');
  // A branch on purpose (experiment:compare --allow-config-change) goes on and says what changed.
  const logger = captureLogger();
  await trainConfigFile(changed, 'run', (m) => m.type === 'iter' && ran.push(m.iter), logger, { checkpointEvery: 2, allowConfigChange: true });
  t.deepEqual(ran, [3, 4]);
  t.true(logger.lines.some((l) => /changed config \(allowed\)/.test(l) && /train\.optimizer\.lr: 0\.0001 -> 0\.0005/.test(l)), logger.lines.join('\n'));
});

test.serial('startFromEarlierRun (experiment:compare --extend): a longer run starts from a shorter one\'s newest checkpoint and ends as if run straight through', async (t) => {
  const straight = await train(writeConfig(tmp(), 6));
  const short = tmp();
  await train(writeConfig(short, 4), 2);
  const long = tmp();
  const copied = await startFromEarlierRun(short, long);
  t.truthy(copied);
  t.is((await readCheckpointMeta(copied!)).iter, 4, 'the newest checkpoint, by the iteration in its header');
  t.true(existsSync(join(long, 'metrics.jsonl')));
  t.is(await startFromEarlierRun(short, long), undefined, 'a run with a checkpoint of its own keeps it');
  t.is(await startFromEarlierRun(join(short, 'missing'), tmp()), undefined, 'nothing to start from');
  const ran: number[] = [];
  const extended = await train(writeConfig(long, 6), 2, ran);
  t.deepEqual(ran, [5, 6]);
  t.deepEqual(extended.history.map((h) => h.iter), [2, 4, 6], "the shorter run's evaluations stay in the history");
  t.deepEqual(extended.final, straight.final);
});

test.serial('a branch: the rate dropped at the earlier run\'s last iteration continues it exactly as a run with that schedule from the start', async (t) => {
  const dropAt4 = { type: 'lr-schedule', policy: 'step', milestones: [4], gamma: 0.1 };
  /** Training losses by iteration (the loss at i+1 is the first to see step i's rate). */
  const lossesOf = async (file: string, options = {}) => {
    const losses: Record<number, number> = {};
    await trainConfigFile(file, 'run', (m) => m.type === 'iter' && (losses[m.iter] = m.loss), silentLogger, options);
    return losses;
  };
  const straight = await lossesOf(writeTinyRunConfig(tmp(), { maxIters: 6, evalInterval: 2, lrSchedule: dropAt4 }));
  const constant = tmp();
  const unbranched = await lossesOf(writeConfig(constant, 4), { checkpointEvery: 2 });
  const branch = tmp();
  await startFromEarlierRun(constant, branch);
  const branched = await lossesOf(writeTinyRunConfig(branch, { maxIters: 6, evalInterval: 2, lrSchedule: dropAt4 }), { checkpointEvery: 2, allowConfigChange: true });
  t.deepEqual(Object.keys(branched), ['5', '6']);
  t.is(branched[5], straight[5]);
  t.is(branched[6], straight[6], 'bit-identical after the drop');
  const constantOn = await lossesOf(writeConfig(tmp(), 6));
  t.is(constantOn[4], unbranched[4]);
  t.not(constantOn[6], straight[6], 'the drop changes the run (else this test shows nothing)');
});

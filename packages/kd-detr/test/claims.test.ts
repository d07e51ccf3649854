import test from 'ava';
import { claimsTable, judge, pairedGain, signedPoints, type Claim } from '../src/demo/claims.js';

const runs = (aps: Record<number, number>) => new Map(Object.entries(aps).map(([s, ap]) => [Number(s), ap]));

test('paired gain: per-seed differences over the seeds both finished, by hand', (t) => {
  // seeds 0,1,2 vs 0,1 (seed 2 unfinished): diffs 0.03 and 0.01 -> mean 0.02, std sqrt(2e-4)
  const g = pairedGain(runs({ 0: 0.05, 1: 0.04, 2: 0.9 }), runs({ 1: 0.03, 0: 0.02 }));
  t.is(g.n, 2);
  t.deepEqual(g.diffs.map((d) => +d.toFixed(12)), [0.03, 0.01]);
  t.true(Math.abs(g.mean - 0.02) < 1e-12);
  t.true(Math.abs(g.std - Math.sqrt(2e-4)) < 1e-12);
});

test('verdicts: clear gain, gain within the seed spread, loss, threshold, unmeasured', (t) => {
  const beats: Claim = { text: 'a beats b', better: 'a', worse: 'b' };
  const ap = (a: Record<number, number>, b: Record<number, number>) => new Map([['a', runs(a)], ['b', runs(b)]]);
  t.is(judge(beats, ap({ 0: 0.03, 1: 0.04, 2: 0.05 }, { 0: 0.01, 1: 0.02, 2: 0.03 })).verdict, 'holds');
  // mean +0.01 but one seed lost: not a clear win
  t.is(judge(beats, ap({ 0: 0.05, 1: 0.02, 2: 0.02 }, { 0: 0.01, 1: 0.02, 2: 0.03 })).verdict, 'not settled (mean gain within seed spread)');
  // every seed gains, but one seed carries the mean: +0.1, +0.1, +5.0 (mean 1.7 < std 2.8)
  t.is(judge(beats, ap({ 0: 0.011, 1: 0.021, 2: 0.08 }, { 0: 0.01, 1: 0.02, 2: 0.03 })).verdict, 'not settled (mean gain within seed spread)');
  t.is(judge(beats, ap({ 0: 0.01 }, { 0: 0.02 })).verdict, 'does not hold');
  const byThree: Claim = { ...beats, atLeast: 0.03 };
  t.is(judge(byThree, ap({ 0: 0.05, 1: 0.06 }, { 0: 0.03, 1: 0.04 })).verdict, 'does not hold'); // +2.0 < +3.0
  t.is(judge(byThree, ap({ 0: 0.07, 1: 0.08 }, { 0: 0.03, 1: 0.04 })).verdict, 'holds');
  t.is(judge(beats, new Map([['a', runs({ 0: 0.1 })]])).verdict, 'not measured');
  t.is(judge(beats, ap({ 0: 0.1 }, { 1: 0.1 })).verdict, 'not measured');
});

test('the claims table shows gains in AP points and how many seeds cleared the bar', (t) => {
  const md = claimsTable([{ text: 'a beats b', better: 'a', worse: 'b' }], new Map([['a', runs({ 0: 0.05, 1: 0.04 })], ['b', runs({ 0: 0.02, 1: 0.03 })]]));
  t.regex(md, /\| a beats b \| \+2\.0 ± 1\.4 \| 2\/2 \| holds \|/);
});

test('signed AP points: sign, rounding, no negative zero; one seed shows no spread', (t) => {
  t.is(signedPoints(0.012), '+1.2');
  t.is(signedPoints(-0.0251), '-2.5');
  t.is(signedPoints(-1e-17), '0.0');
  t.is(signedPoints(0.0004), '0.0');
  const md = claimsTable([{ text: 'a beats b', better: 'a', worse: 'b' }], new Map([['a', runs({ 0: 0.022 })], ['b', runs({ 0: 0.022 })]]));
  t.regex(md, /\| a beats b \| 0\.0 \| 0\/1 \| does not hold \|/);
});

test('a gain that prints as 0.0 AP points is no win (judged as printed)', (t) => {
  const ap = new Map([
    ['a', new Map([[0, 0.34200546]])],
    ['b', new Map([[0, 0.3419453]])],
  ]);
  const r = judge({ text: 'a beats b', better: 'a', worse: 'b' }, ap);
  t.is(r.verdict, 'does not hold');
  t.is(r.cleared, 0);
  const clear = judge({ text: 'a beats b', better: 'a', worse: 'b' }, new Map([['a', new Map([[0, 0.343]])], ['b', new Map([[0, 0.3419]])]]));
  t.is(clear.verdict, 'holds');
});

// A student alone vs distilled, at equal iterations, over seeds: the tables of the detector issues
// (Deformable DETR, Faster R-CNN + heterogeneous KD-DETR, DINO). Each run is a config file
// that `extends` the given one, with the seed, the iteration budget and the --set overrides on
// top, so a run trains exactly what `detkit train/distill <config> --seed S --set ...` would.
//   npm run experiment:compare -- --alone configs/faster-rcnn/mnist.ts \
//     --distilled dab=configs/kd-detr/mnist-dab-to-faster-rcnn.ts [--distilled name=config ...] \
//     --iters 1000 --seeds 0,1 [--eval-interval 500] [--set train.lrSchedule.milestones=[800] ...] \
//     --out packages/kd-detr/results/<name> [--jobs N] [--workers N] [--checkpoint-every 100] [--summarize]
//     [--extend packages/kd-detr/results/<shorter> [--allow-config-change]]
// A run whose result.json exists and whose config is unchanged is reused (commit the run folders
// and an interrupted comparison resumes in another session); a run cut short resumes from its
// newest checkpoint (every --checkpoint-every iterations, in its folder, not committed). Writes <out>/compare.md (AP per seed,
// mean, paired gain over the student alone) and <out>/compare-ap.png (AP curves).
// --extend DIR starts each run from the same arm and seed of an earlier, shorter comparison (its
// newest checkpoint and metrics are copied in): the rate must not depend on the length (constant
// or step), and a run whose config differs in more than its length is refused when it resumes,
// unless --allow-config-change: a branch, e.g. a step schedule whose first milestone is the
// earlier runs' last iteration continues them exactly as if it had been set from the start.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { applyOverrides, chooseLayout, writeFileAtomic } from '@detkit/core';
import {
  finishedRun,
  gainOverTrainingTable,
  meanStd,
  pairedGain,
  PALETTE,
  pct,
  runJobs,
  seedMeanApSeries,
  RunsProgress,
  signedPoints,
  startFromEarlierRun,
  writeLineChartPng,
  type TrainingJob,
  type TrainingResult,
} from '@detkit/kd-detr/experiments';

const { values: a } = parseArgs({
  options: {
    alone: { type: 'string' },
    distilled: { type: 'string', multiple: true, default: [] },
    iters: { type: 'string', default: '1000' },
    seeds: { type: 'string', default: '0,1' },
    'eval-interval': { type: 'string', default: '500' },
    set: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
    jobs: { type: 'string' },
    workers: { type: 'string' },
    summarize: { type: 'boolean', default: false },
    'checkpoint-every': { type: 'string', default: '100' },
    extend: { type: 'string' },
    'allow-config-change': { type: 'boolean', default: false },
  },
});
const fail = (message: string): never => {
  console.error(`experiment:compare: ${message}`);
  process.exit(3);
};
const positive = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : fail(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
};
if (!a.alone) fail('--alone <student config> is required');
if (!a.out) fail('--out <results folder> is required');
const iters = positive(a.iters, 'iters')!;
const evalInterval = positive(a['eval-interval'], 'eval-interval')!;
const seeds = a.seeds!.split(',').map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`--seeds: '${s}' is not a seed (e.g. --seeds 0,1)`)));
const out = resolve(a.out!);
const checkpointEvery = positive(a['checkpoint-every'], 'checkpoint-every')!;
const extend = a.extend === undefined ? undefined : resolve(a.extend);
if (extend && !existsSync(extend)) fail(`--extend ${a.extend}: no such folder`);

/** The arms of the comparison: the student alone first, then each teacher's distillation config. */
const arms = [
  { key: 'alone', label: 'student alone', config: resolve(a.alone!), command: 'train' },
  ...a.distilled!.map((d) => {
    const eq = d.indexOf('=');
    if (eq <= 0 || eq === d.length - 1) fail(`--distilled '${d}': expected name=config (e.g. dab=configs/kd-detr/mnist-dab-to-faster-rcnn.ts)`);
    return { key: d.slice(0, eq), label: `distilled (${d.slice(0, eq)})`, config: resolve(d.slice(eq + 1)), command: 'distill' };
  }),
];
if (new Set(arms.map((x) => x.key)).size !== arms.length) fail('two arms share a name (alone is reserved for the student alone)');

const jobs: TrainingJob[] = [];
const costs: number[] = [];
const results = new Map<string, TrainingResult>(); // key: arm/seed
for (const seed of seeds) {
  for (const arm of arms) {
    const dir = join(out, `${arm.key}-seed${seed}`);
    const own = { extends: arm.config, seed, workDir: dir, train: { maxIters: iters, evalInterval, checkpointInterval: 0, logInterval: 50 } };
    const text = JSON.stringify(applyOverrides(own, a.set!), null, 2);
    const previous = await finishedRun(dir, text);
    if (previous) {
      results.set(`${arm.key}/${seed}`, previous);
      continue;
    }
    if (a.summarize) continue;
    await writeFileAtomic(join(dir, 'config.json'), text);
    const copied = extend && (await startFromEarlierRun(join(extend, `${arm.key}-seed${seed}`), dir));
    if (copied) console.error(`experiment:compare: ${arm.key}/${seed} starts from ${relative(process.cwd(), copied)} (copied from ${relative(process.cwd(), extend!)})`);
    jobs.push({ name: `${arm.key}/${seed}`, configFile: join(dir, 'config.json'), logFile: join(dir, 'train.log'), checkpointEvery, allowConfigChange: a['allow-config-change'] });
    costs.push(arm.key === 'alone' ? 1 : 3); // a distilled step costs ~2-5x (teacher forward, extra points)
  }
}
const layout = await chooseLayout({ jobs: positive(a.jobs, 'jobs'), workers: positive(a.workers, 'workers'), costs });
for (const j of jobs) j.workers = layout.workers;
await mkdir(out, { recursive: true });
console.error(`experiment:compare: ${arms.length} arms x ${seeds.length} seeds of ${iters} iterations -> ${out}: ${results.size} finished, ${jobs.length} to run; layout: ${layout.reason}`);
const progress = new RunsProgress(100);
try {
  const fresh = await runJobs(jobs, layout.jobs, (m) => progress.handle(m), { keepGoing: true });
  fresh.forEach((r, i) => results.set(jobs[i]!.name, r));
} finally {
  progress.stop();
}

const apBySeed = (key: string) => new Map(seeds.flatMap((s) => {
  const ap = results.get(`${key}/${s}`)?.final.AP;
  return ap === undefined ? [] : [[s, ap] as [number, number]];
}));
const alone = apBySeed('alone');
const rel = (p: string) => relative(process.cwd(), p);
const sets = a.set!.map((s) => ` --set '${s}'`).join('');
const lines = [
  `# ${rel(a.alone!)}: alone vs distilled`,
  '',
  `${iters} iterations per run (evaluation every ${evalInterval}), seeds ${seeds.join(', ')}${sets ? `, overrides${sets}` : ''}. ` +
    'Validation AP in percent; the gain is paired (each seed\'s runs share initialisation and data order): mean ± sample std of the per-seed differences.',
  '',
  `| run | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean | gain over alone | ms/it | command |`,
  `| --- | ${seeds.map(() => '---').join(' | ')} | --- | --- | --- | --- |`,
];
const series = [];
for (const [i, arm] of arms.entries()) {
  const ap = apBySeed(arm.key);
  const rs = seeds.map((s) => results.get(`${arm.key}/${s}`)).filter((r): r is TrainingResult => r !== undefined);
  const gain = arm.key === 'alone' ? undefined : pairedGain(ap, alone);
  const gainCell = gain === undefined ? '' : gain.n === 0 ? 'n/a' : `${signedPoints(gain.mean)}${gain.n > 1 ? ` ± ${(100 * gain.std).toFixed(1)}` : ''} (n=${gain.n})`;
  const ms = rs.length ? meanStd(rs.map((r) => r.msPerIter)).mean.toFixed(0) : 'n/a';
  const mean = ap.size ? pct(meanStd([...ap.values()]).mean) : 'n/a';
  const command = `\`npx detkit ${arm.command} ${rel(arm.config)} --seed S --set train.maxIters=${iters}${sets}\``;
  lines.push(`| ${arm.label} | ${seeds.map((s) => (ap.has(s) ? pct(ap.get(s)) : 'not run')).join(' | ')} | ${mean} | ${gainCell} | ${ms} | ${command} |`);
  series.push(seedMeanApSeries(arm.label, PALETTE[i % PALETTE.length]!, rs));
}
const overTraining = gainOverTrainingTable(arms.map((arm) => ({
  label: arm.label,
  runs: new Map(seeds.flatMap((s) => {
    const r = results.get(`${arm.key}/${s}`);
    return r ? [[s, r] as [number, TrainingResult]] : [];
  })),
})));
lines.push('', '## AP over training', '', 'Mean over the seeds evaluated at each iteration; in brackets the paired gain over the student alone there.', '', overTraining);
lines.push('', '![validation AP (mean over seeds, band: min..max)](compare-ap.png)', '');
await writeLineChartPng(join(out, 'compare-ap.png'), series, { title: 'validation AP (mean over seeds)', xLabel: 'iteration', yLabel: 'AP (%)', width: 900, height: 520 });
await writeFileAtomic(join(out, 'compare.md'), lines.join('\n'));
console.log(lines.join('\n'));

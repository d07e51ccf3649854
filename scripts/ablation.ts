// KD-DETR ablation on MNIST-detection (long: ~12 h of one core with the defaults; never in CI).
//   npm run experiment:ablation -- [--iters 2000] [--seeds 0,1,2] [--jobs N] [--workers N] [--eval-interval 400]
//     [--teacher-checkpoint checkpoints/dab-detr-mnist-teacher.safetensors] [--out packages/kd-detr/results/ablation-sum-2000]
//     [--only alone,kd-gs] [--train-count 8000] [--val-count 500] [--general-count 100] [--checkpoint-every 100] [--summarize]
// --jobs / --workers fix how runs share the cores (runs at once, data-parallel ranks per run);
// by default the layout estimated to finish first is chosen and printed (chooseLayout).
// A run whose result.json exists and whose config is unchanged (absolute paths compared relative
// to the repository, so a run committed from another checkout counts) is reused: an interrupted
// ablation resumes where it stopped, across sessions, from the run folders committed under --out;
// a run cut short resumes from its newest checkpoint (every --checkpoint-every iterations).
// --summarize trains nothing and tabulates the finished runs.
// For each seed, at equal iterations, in order of what the paper's claims need first: the student
// alone; general + specific (KD-DETR); specific only; general only; hungarian-logits; the
// reference's GT-matched baseline (gt-matched-logits); the student alone with as many extra
// detection queries as KD-DETR adds distillation points; general + specific without foreground
// weighting; and general + specific with the paper's 300 general points.
// Writes <out>/ablation.md (mean and spread of AP over seeds, the paper's directions judged) and
// <out>/ablation-ap.png.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseLayout, loadConfig, writeFileAtomic } from '@detkit/core';
import { resolveKdLossOptions } from '@detkit/kd-detr';
import {
  claimsTable,
  finishedRun,
  meanStd,
  PALETTE,
  PAPER_CLAIMS,
  pct,
  relativeIterCost,
  runJobs,
  seedMeanApSeries,
  RunsProgress,
  studentRunConfig,
  writeLineChartPng,
  type ApBySeed,
  type TrainingJob,
  type TrainingResult,
} from '@detkit/kd-detr/experiments';

const { values: a } = parseArgs({
  options: {
    iters: { type: 'string', default: '2000' },
    seeds: { type: 'string', default: '0,1,2' },
    jobs: { type: 'string' },
    workers: { type: 'string' },
    'eval-interval': { type: 'string', default: '400' },
    'teacher-checkpoint': { type: 'string', default: 'checkpoints/dab-detr-mnist-teacher.safetensors' },
    'teacher-config': { type: 'string', default: 'configs/dab-detr/mnist-teacher.ts' },
    'student-config': { type: 'string', default: 'configs/dab-detr/mnist-student.ts' },
    'train-count': { type: 'string', default: '8000' },
    'val-count': { type: 'string', default: '500' },
    'general-count': { type: 'string', default: '100' },
    only: { type: 'string' },
    summarize: { type: 'boolean', default: false },
    'checkpoint-every': { type: 'string', default: '100' },
    out: { type: 'string', default: 'packages/kd-detr/results/ablation-sum-2000' },
  },
});
const iters = Number(a.iters);
const seeds = a.seeds!.split(',').map(Number);
const out = resolve(a.out!);
const checkpoint = resolve(a['teacher-checkpoint']!);
const teacherConfig = resolve(a['teacher-config']!);
if (!existsSync(checkpoint)) {
  console.error(`teacher checkpoint ${checkpoint} is missing: train configs/dab-detr/mnist-teacher.ts first (see \`detkit demo\`'s message)`);
  process.exit(2);
}
const student = (await loadConfig(resolve(a['student-config']!))).config;
const teacher = (await loadConfig(teacherConfig)).config;
const general = Number(a['general-count']);
const teacherQueries = Number(teacher.model.numQueries ?? 300);
const kdPoints = general + teacherQueries;
const teacherRef = { config: teacherConfig, checkpoint };
// Named in every run's config (not left to the default) so runs made under another default are never reused.
const klNormalizer = resolveKdLossOptions().klNormalizer;
const kd = (samplers: object[], extra: object = {}) => ({ type: 'kd-detr', method: 'kd-detr', teacher: teacherRef, samplers, klNormalizer, ...extra });
const G = { type: 'general', count: general };
const S = { type: 'specific' };

const variants: Array<{ key: string; label: string; distill: Record<string, unknown>; model?: Record<string, unknown> }> = [
  { key: 'alone', label: 'student alone', distill: { type: 'kd-detr', method: 'none' } },
  { key: 'kd-gs', label: 'general + specific (KD-DETR)', distill: kd([G, S]) },
  { key: 'kd-s', label: 'specific only', distill: kd([S]) },
  { key: 'kd-g', label: 'general only', distill: kd([G]) },
  { key: 'hungarian', label: 'hungarian-logits (inconsistent points)', distill: { type: 'kd-detr', method: 'hungarian-logits', teacher: teacherRef } },
  { key: 'gt-matched', label: "gt-matched-logits (the reference's inconsistent baseline)", distill: { type: 'kd-detr', method: 'gt-matched-logits', teacher: teacherRef } },
  {
    key: 'alone-more-queries',
    label: `student alone, ${Number(student.model.numQueries ?? 300) + kdPoints} detection queries (+${kdPoints})`,
    distill: { type: 'kd-detr', method: 'none' },
    model: { ...student.model, numQueries: Number(student.model.numQueries ?? 300) + kdPoints },
  },
  { key: 'kd-gs-nofg', label: 'general + specific, no foreground weighting', distill: kd([G, S], { foregroundWeighting: false }) },
  { key: 'kd-gs-g300', label: 'general + specific, 300 general points', distill: kd([{ ...G, count: 300 }, S]) },
].filter((v) => !a.only || a.only.split(',').includes(v.key));

const settings = {
  iters,
  evalInterval: Number(a['eval-interval']),
  trainCount: Number(a['train-count']),
  valCount: Number(a['val-count']),
  batchSize: Number((student.data as { batchSize?: number }).batchSize ?? 8),
  generalPoints: general,
};
const positive = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
    process.exit(3);
  }
  return n;
};
const jobs: TrainingJob[] = [];
const costs: number[] = [];
const finished: TrainingResult[] = [];
const keyOf = new Map<string, { variant: string; seed: number }>();
for (const seed of seeds) {
  for (const v of variants) {
    const dir = join(out, `${v.key}-seed${seed}`);
    const name = `${v.key}/seed${seed}`;
    keyOf.set(name, { variant: v.key, seed });
    const text = JSON.stringify(studentRunConfig({ ...settings, seed }, v.model ?? student.model, student.train.optimizer, dir, v.distill), null, 2);
    const previous = await finishedRun(dir, text);
    if (previous) {
      finished.push({ ...previous, name });
      continue;
    }
    if (a.summarize) continue;
    await writeFileAtomic(join(dir, 'config.json'), text);
    jobs.push({ name, configFile: join(dir, 'config.json'), logFile: join(dir, 'train.log'), checkpointEvery: positive(a['checkpoint-every'], 'checkpoint-every') });
    costs.push(iters * relativeIterCost(v.distill, v.model ?? student.model, teacherQueries));
  }
}
// The layout is not in the runs' configs (they are reused whatever it was): workers go to each child.
const layout = await chooseLayout({ jobs: positive(a.jobs, 'jobs'), workers: positive(a.workers, 'workers'), costs });
for (const j of jobs) j.workers = layout.workers;
if (layout.backend) console.error(`ablation: the layout wants backend '${layout.backend}'; set it in the student config to use it`);

await mkdir(out, { recursive: true });
console.error(
  `ablation: ${variants.length} variants x ${seeds.length} seeds of ${iters} iterations -> ${out}: ` +
    `${finished.length} finished, ${jobs.length} to run; layout: ${layout.reason}`,
);
const progress = new RunsProgress(100);
let results: TrainingResult[];
try {
  results = [...finished, ...(await runJobs(jobs, layout.jobs, (m) => progress.handle(m), { keepGoing: true }))];
} finally {
  progress.stop();
}

const byVariant = new Map<string, TrainingResult[]>();
results.forEach((r) => {
  const k = keyOf.get(r.name)!.variant;
  byVariant.set(k, [...(byVariant.get(k) ?? []), r]);
});
const lines = [
  '# KD-DETR ablation on MNIST-detection',
  '',
  `Student ${a['student-config']}, teacher ${a['teacher-config']} (${a['teacher-checkpoint']}); ${iters} iterations per run, seeds ${seeds.join(', ')}; ` +
    `${settings.trainCount} training images, ${settings.valCount} validation images, ${general} general points, klNormalizer '${klNormalizer}'. ` +
    'AP in percent: mean ± sample std over seeds [min, max]; n: seeds finished.',
  '',
  '| variant | n | AP | AP50 | AP75 | APs | APm | APl | ms/it |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
const series = [];
for (const [i, v] of variants.entries()) {
  const rs = byVariant.get(v.key) ?? [];
  const cell = (k: string) => {
    const xs = rs.map((r) => r.final[k] ?? NaN).filter((x) => Number.isFinite(x) && x >= 0); // -1: no GT in that setting
    if (xs.length === 0) return 'n/a';
    if (xs.length === 1) return pct(xs[0]);
    const { mean, std } = meanStd(xs);
    return `${pct(mean)} ± ${(100 * std).toFixed(1)} [${pct(Math.min(...xs))}, ${pct(Math.max(...xs))}]`;
  };
  const ms = rs.length ? meanStd(rs.map((r) => r.msPerIter)).mean.toFixed(0) : 'n/a';
  lines.push(`| ${v.label} | ${rs.length} | ${['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'].map(cell).join(' | ')} | ${ms} |`);
  series.push(seedMeanApSeries(v.label, PALETTE[i % PALETTE.length]!, rs));
}
const finalAp = new Map<string, ApBySeed>(
  [...byVariant].map(([k, rs]) => [k, new Map(rs.filter((r) => r.final.AP !== undefined).map((r) => [keyOf.get(r.name)!.seed, r.final.AP!]))]),
);
lines.push(
  '',
  '## The paper\'s directions, checked',
  '',
  'Gains are paired: each seed\'s runs share initialisation and data order, so the per-seed difference in final AP is compared.',
  '',
  claimsTable(PAPER_CLAIMS, finalAp),
  '',
  '![validation AP (mean over seeds, band: min..max)](ablation-ap.png)',
  '',
);
await writeLineChartPng(join(out, 'ablation-ap.png'), series, { title: 'KD-DETR ablation: validation AP (mean over seeds)', xLabel: 'iteration', yLabel: 'AP (%)', width: 900, height: 520 });
await writeFileAtomic(join(out, 'ablation.md'), lines.join('\n'));
console.log(lines.join('\n'));

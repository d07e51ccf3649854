// @detkit/kd-detr/experiments: the tooling behind `detkit demo` and the ablation script (child
// training runs, progress, tables, claims, charts), for experiments of your own. A subpath of
// its own so that loading the plugin does not load sharp and cli-progress.
export { runDemo } from './demo/demo-command.js';
export { DEMO_DEFAULTS, resolveDemoOptions, type DemoOptions, type RunSettings } from './demo/options.js';
export { DEMO_SCHEDULE, pluginModulePath, studentRunConfig, type ShortSchedule } from './demo/run-config.js';
export { verdictLine, writeDemoReport } from './demo/demo-report.js';
export { runJobs, type RunJobsOptions, type TrainingJob } from './demo/jobs.js';
export { finishedRun, repoRelative } from './demo/finished-run.js';
export { startFromEarlierRun } from './demo/extend-run.js';
export { trainConfigFile, type ProgressMessage, type TrainingResult } from './demo/run-training.js';
export { RunsProgress } from './demo/progress.js';
export { consoleTable, meanStd, metricsTable, pct } from './demo/report.js';
export { claimsTable, judge, pairedGain, PAPER_CLAIMS, signedPoints, type ApBySeed, type Claim, type PairedGain, type Verdict } from './demo/claims.js';
export { PALETTE, writeLineChartPng } from './demo/chart.js';
export { seedMeanApSeries } from './demo/seed-series.js';
export { gainOverTrainingTable, type ArmRuns } from './demo/gain-over-training.js';
export { relativeIterCost } from './demo/run-cost.js';
export { exportStudentSite, type StudentSiteOptions } from './demo/web-site.js';

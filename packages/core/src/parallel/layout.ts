import { availableParallelism } from 'node:os';

/**
 * How a set of independent training runs uses the machine: `jobs` runs at once (a process
 * each) with `workers` data-parallel ranks each (`train.workers`), or on a GPU backend.
 */
export interface RunLayout {
  jobs: number;
  workers: number;
  /** The backend every run should use, when the layout needs one (a GPU); else the runs' own. */
  backend?: string;
  /** One line for the console: what was chosen and the estimates behind it. */
  reason: string;
}

/**
 * Speed-up of one run on 2 data-parallel ranks over 1, as measured by `npm run bench -- dp`
 * with the machine's other jobs paused (the MNIST student at batch 8: 1.22x wall, 3.63 -> 4.42
 * it/s; the per-rank thread CPU suggests 1.47x, so the two cores also slow each other down;
 * every rank pays the step's fixed per-kernel cost in full). DETKIT_DP_SPEEDUP overrides it.
 */
export const DEFAULT_DP_SPEEDUP = 1.22;

export interface LayoutOptions {
  /** Relative cost of each run (e.g. estimated ms per iteration x iterations); only ratios matter. */
  costs: readonly number[];
  /** CPU cores to use; default availableParallelism(). */
  cores?: number;
  /** A GPU backend to train on (`gpuBackend()`); undefined: the CPU. */
  gpu?: string;
  /** Speed-up of one run on all `cores` as data-parallel ranks; default DETKIT_DP_SPEEDUP or DEFAULT_DP_SPEEDUP (for 2 cores). */
  dataParallelSpeedup?: number;
}

/**
 * The GPU backend runs should use, if the machine has one. This is the hook for the webgpu
 * backend (another branch adds it to selectBackend): return its name when it finds a hardware
 * adapter. Until then there is none, and layouts are planned for the CPU.
 */
export async function gpuBackend(): Promise<string | undefined> {
  return undefined;
}

/** When the last of `costs` ends on `slots` parallel slots, each run starting in order on the first free slot (as runJobs does). */
export function makespan(costs: readonly number[], slots: number): number {
  const load = new Array<number>(Math.max(1, slots)).fill(0);
  for (const c of costs) {
    const i = load.indexOf(Math.min(...load));
    load[i]! += c;
  }
  return Math.max(...load);
}

/**
 * The fastest way to finish every run: on a GPU one run at a time on it; on the CPU either one
 * run per core (wall = the makespan of the runs over the cores) or one run after another on
 * every core as data-parallel ranks (wall = total / speed-up), whichever is estimated sooner.
 * One run per core wins ties (it needs no worker threads).
 */
export function planLayout(o: LayoutOptions): RunLayout {
  const cores = Math.max(1, o.cores ?? availableParallelism());
  const n = o.costs.length;
  if (o.gpu) return { jobs: 1, workers: 1, backend: o.gpu, reason: `GPU backend '${o.gpu}': one run at a time on it` };
  if (cores === 1 || n === 0) return { jobs: 1, workers: 1, reason: `${cores} core${cores === 1 ? '' : 's'}: one run at a time on one worker` };
  const envSpeedup = Number(process.env['DETKIT_DP_SPEEDUP']);
  const speedup = o.dataParallelSpeedup ?? (Number.isFinite(envSpeedup) && envSpeedup > 0 ? envSpeedup : DEFAULT_DP_SPEEDUP);
  if (n === 1) {
    // One run: every core on it, as data-parallel ranks (any speed-up above 1 is a gain).
    return speedup > 1
      ? { jobs: 1, workers: cores, reason: `one run on all ${cores} cores (train.workers ${cores}; ${speedup.toFixed(2)}x estimated data-parallel speed-up)` }
      : { jobs: 1, workers: 1, reason: `one run on one core (data-parallel speed-up ${speedup.toFixed(2)}x is no gain)` };
  }
  const total = o.costs.reduce((a, b) => a + b, 0);
  const unit = Math.min(...o.costs);
  const fmt = (x: number) => (x / unit).toFixed(2);
  const perCore = makespan(o.costs, Math.min(cores, n));
  const together = total / speedup;
  const estimates = `estimated ${fmt(perCore)} for ${Math.min(cores, n)} at once on 1 worker each vs ${fmt(together)} for one after another on ${cores} workers (${speedup.toFixed(2)}x data-parallel speed-up; unit: the cheapest run on one core)`;
  if (together < perCore) return { jobs: 1, workers: cores, reason: `one run at a time on all ${cores} cores (train.workers ${cores}): ${estimates}` };
  return { jobs: Math.min(cores, n), workers: 1, reason: `${Math.min(cores, n)} runs at once, one core each: ${estimates}` };
}

export interface ChooseLayoutOptions {
  /** Runs at once, when the user fixed it (--jobs). */
  jobs?: number;
  /** Data-parallel ranks per run, when the user fixed it (--workers / train.workers). */
  workers?: number;
  costs: readonly number[];
  cores?: number;
}

/**
 * The layout for `detkit demo` and the ablation: what the user fixed, the rest filled in so
 * the cores are used (`--jobs 1`: both cores per run; `--workers 2`: one run at a time), or,
 * with neither, `planLayout` on the GPU hook's answer and the runs' estimated costs.
 */
export async function chooseLayout(o: ChooseLayoutOptions): Promise<RunLayout> {
  const cores = Math.max(1, o.cores ?? availableParallelism());
  const { jobs, workers } = o;
  if (jobs !== undefined && workers !== undefined) return { jobs, workers, reason: `${jobs} run${jobs === 1 ? '' : 's'} at once on ${workers} worker${workers === 1 ? '' : 's'} each, as asked` };
  if (jobs !== undefined) {
    const w = Math.max(1, Math.floor(cores / jobs));
    return { jobs, workers: w, reason: `${jobs} run${jobs === 1 ? '' : 's'} at once, as asked, on ${w} worker${w === 1 ? '' : 's'} each (${cores} cores)` };
  }
  if (workers !== undefined) {
    const j = Math.max(1, Math.floor(cores / workers));
    return { jobs: j, workers, reason: `${workers} worker${workers === 1 ? '' : 's'} per run, as asked: ${j} run${j === 1 ? '' : 's'} at once (${cores} cores)` };
  }
  return planLayout({ costs: o.costs, cores, gpu: await gpuBackend() });
}

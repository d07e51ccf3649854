import { promises as fs } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { DetkitError } from '../errors.js';

/** The files a detkit run writes at the top of its work dir: what makes a directory "hold a run". */
const RUN_FILE = /^(config\.resolved\.json|metrics\.jsonl|.+\.safetensors)$/;
const PERIODIC = /^iter_\d+\.safetensors$/;

export interface WorkDirPlan {
  dir: string;
  /** The previous run's files (names), empty for a fresh or resumed work dir. */
  replace: string[];
}

export interface WorkDirOptions {
  /** The checkpoint this run resumes from (`--resume` or `train.resumeFrom`). */
  resume?: string;
  /** Replace a run already in the work dir (its files are moved aside, never mixed). */
  force?: boolean;
}

/**
 * Decides whether a training run may use `dir`. A fresh dir, or the run's own dir when
 * resuming from a checkpoint inside it, is fine; a dir holding another run is refused
 * (WORK_DIR_IN_USE, exit 3) unless `force`, which plans to move that run's files aside.
 * Nothing is changed here: `applyWorkDirPlan` does the move once the run is built.
 */
export async function planWorkDir(dir: string, options: WorkDirOptions = {}): Promise<WorkDirPlan> {
  const files = await runFiles(dir);
  // A run that failed before its first log line or checkpoint left only its config: nothing to keep.
  if (files.length === 0 || (files.length === 1 && files[0] === 'config.resolved.json')) return { dir, replace: [] };
  if (options.resume && isInside(dir, resolve(options.resume))) return { dir, replace: [] };
  if (options.force) return { dir, replace: files };
  const held = await describeRun(dir, files);
  const latest = files.includes('latest.safetensors') ? join(dir, 'latest.safetensors') : undefined;
  const why = options.resume ? `; --resume ${options.resume} is not in it, so this would be a second run` : '';
  throw new DetkitError(
    'WORK_DIR_IN_USE',
    `work dir ${dir} already holds a run (${held})${why}. Refusing to mix two runs' files. Either\n` +
      (latest ? `  continue that run:  --resume ${latest}\n` : '') +
      `  start a new run:    --work-dir <another dir>\n` +
      `  replace it:         --force (moves its files to ${join(dir, 'replaced-<time>')}/)`,
    { workDir: dir, files },
  );
}

/** Moves the planned files to `<dir>/replaced-<time>/`; returns that folder (undefined: nothing to move). */
export async function applyWorkDirPlan(plan: WorkDirPlan): Promise<string | undefined> {
  if (plan.replace.length === 0) return undefined;
  const aside = await freshFolder(join(plan.dir, `replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  for (const name of plan.replace) {
    await fs.rename(join(plan.dir, name), join(aside, name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new DetkitError('IO', `Cannot move ${join(plan.dir, name)} to ${aside}: ${e.message}`, { file: name }, { cause: e });
    });
  }
  return aside;
}

async function runFiles(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => RUN_FILE.test(n)).sort();
  } catch {
    return [];
  }
}

function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** `latest.safetensors at iteration 40, 4 iter_* checkpoints, metrics.jsonl`. */
async function describeRun(dir: string, files: string[]): Promise<string> {
  const parts: string[] = [];
  for (const name of files) {
    if (PERIODIC.test(name)) continue;
    const iter = name.endsWith('.safetensors') ? await checkpointIter(join(dir, name)) : undefined;
    parts.push(iter === undefined ? name : `${name} at iteration ${iter}`);
  }
  const periodic = files.filter((n) => PERIODIC.test(n)).length;
  if (periodic > 0) parts.push(`${periodic} iter_* checkpoint${periodic > 1 ? 's' : ''}`);
  return parts.join(', ');
}

/** The iteration in a checkpoint's header, read without loading its tensors; undefined if unreadable. */
async function checkpointIter(file: string): Promise<number | undefined> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(file, 'r');
    const len = Buffer.alloc(8);
    await fh.read(len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 1_000_000) return undefined;
    const header = Buffer.alloc(n);
    await fh.read(header, 0, n, 8);
    const meta = (JSON.parse(header.toString('utf8')) as { __metadata__?: { detkit?: string } }).__metadata__?.detkit;
    const iter = meta ? (JSON.parse(meta) as { iter?: unknown }).iter : undefined;
    return typeof iter === 'number' ? iter : undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

/** `base`, or `base-1`, `base-2`, ... whichever does not exist yet; created. */
async function freshFolder(base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const dir = i === 0 ? base : `${base}-${i}`;
    try {
      await fs.mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DetkitError('IO', `Cannot create ${dir}: ${(e as Error).message}`, { dir }, { cause: e });
    }
  }
}

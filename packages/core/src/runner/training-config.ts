import type { CheckpointMeta } from '../checkpoint/checkpoint.js';
import type { DetkitConfig } from '../config/schema.js';
import { DetkitError } from '../errors.js';
import { plainJson } from './plain-json.js';

/**
 * What a resumed run must share with the run that wrote its checkpoint: the resolved config
 * less its bookkeeping. A run may be extended (`train.maxIters`), moved (`workDir`), evaluated,
 * logged and checkpointed differently, or spread over more workers, and still compute what
 * the first leg would have; any other key changes the training itself. The result is plain
 * JSON (RegExps as their source, functions dropped), small enough to travel in a checkpoint.
 *
 * Not caught: a cosine rate schedule that spans the run's `maxIters` rescales when a run is
 * extended (give the schedule its own `maxIters` to extend such a run unchanged).
 */
export function trainingConfig(config: DetkitConfig): Record<string, unknown> {
  const { workDir: _w, backend: _b, plugins: _p, evaluator: _e, defaultHooks: _h, train, data, ...rest } = config;
  const { maxIters: _m, evalInterval: _ei, checkpointInterval: _ci, logInterval: _li, workers: _wk, resumeFrom: _r, ...training } = train;
  const { val: _v, valBatchSize: _vb, valTransforms: _vt, numWorkers: _n, prefetch: _pf, ...trainData } = data;
  return plainJson({ ...rest, train: training, data: trainData }) as Record<string, unknown>;
}

/** One key whose value differs: `path` as `--set` spells it, the values as JSON. */
export interface ConfigChange {
  path: string;
  before: string;
  after: string;
}

/** Every leaf that differs between two plain configs (a key present on one side only counts). */
export function configChanges(before: unknown, after: unknown, path = ''): ConfigChange[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => configChanges(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => configChanges(b, after[i], `${path}.${i}`));
  }
  const [b, a] = [show(before), show(after)];
  return b === a ? [] : [{ path: path || '(config)', before: b, after: a }];
}

/**
 * Refuses to resume the checkpoint at `path` under a training config other than the one that
 * wrote it (RESUME_CONFIG_CHANGED, naming every key), unless `allowChange`. Returns what
 * changed, or undefined for a checkpoint written before configs were recorded (not checkable).
 */
export function checkResumeConfig(path: string, meta: CheckpointMeta, current: Record<string, unknown>, allowChange = false): ConfigChange[] | undefined {
  if (!meta.config) return undefined;
  const changes = configChanges(meta.config, current);
  if (changes.length > 0 && !allowChange) {
    throw new DetkitError(
      'RESUME_CONFIG_CHANGED',
      `Cannot resume ${path}: it was trained under a different config (checkpoint -> this run):\n${formatChanges(changes)}\n` +
        `Resume with the config that wrote it (config.resolved.json in its work dir), start a new run elsewhere (--work-dir), ` +
        `or pass --allow-config-change (createRun: allowConfigChange) to continue under the new values.`,
      { file: path, keys: changes.map((c) => c.path) },
    );
  }
  return changes;
}

/** `key: before -> after` lines, for messages. */
export function formatChanges(changes: readonly ConfigChange[]): string {
  return changes.map((c) => `  ${c.path}: ${c.before} -> ${c.after}`).join('\n');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

import { z } from 'zod';

/**
 * The config schema. Core sections are strict (a typo such as `train.maxIter` fails with its
 * key path); `{ type, ...params }` fragments are loose because their params belong to the
 * registered factory; unknown top-level sections are kept for plugins (e.g. `distill`).
 */

/** `{ type: 'name', ...params }`: params are validated by the factory, not here. */
export const typedConfigSchema = z.looseObject({
  type: z.string().min(1, 'must name a registered entry'),
});

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const optimizerSchema = z.strictObject({
  type: z.enum(['adamw', 'adam', 'sgd']).default('adamw'),
  lr: z.number().positive().default(1e-4),
  weightDecay: z.number().nonnegative().default(1e-4),
  betas: z.tuple([z.number(), z.number()]).optional(),
  eps: z.number().positive().optional(),
  momentum: z.number().nonnegative().optional(),
  /** Per-parameter-group settings, e.g. `{ match: 'backbone.', lrMult: 0.1 }` as DETR does. */
  paramGroups: z
    .array(z.strictObject({ match: z.string().min(1), lrMult: z.number().nonnegative().optional(), weightDecay: z.number().nonnegative().optional() }))
    .optional(),
});

export const dataSchema = z.strictObject({
  train: typedConfigSchema,
  val: typedConfigSchema.optional(),
  batchSize: positiveInt.default(2),
  /** Validation batch size; defaults to batchSize. */
  valBatchSize: positiveInt.optional(),
  shuffle: z.boolean().default(true),
  transforms: z.array(typedConfigSchema).optional(),
  valTransforms: z.array(typedConfigSchema).optional(),
  /** The `loader` entry turning a Dataset into a BatchSource; `{ type: 'default' }` when absent. */
  loader: typedConfigSchema.optional(),
  numWorkers: nonNegativeInt.optional(),
  /** Batches prepared ahead of the one training. */
  prefetch: nonNegativeInt.optional(),
});

export const trainSchema = z.strictObject({
  maxIters: positiveInt.default(1000),
  optimizer: optimizerSchema.prefault({}),
  /** Global gradient-norm clip; 0 disables. DETR's 0.1 by default. */
  clipGradNorm: z.number().nonnegative().default(0.1),
  /** Iterations between evaluations (0: only at the end). */
  evalInterval: nonNegativeInt.default(500),
  /** Iterations between checkpoints (0: only at the end). */
  checkpointInterval: nonNegativeInt.default(500),
  /** Iterations between log lines. */
  logInterval: positiveInt.default(20),
  /** An LR-schedule hook (kind 'hook'), added to the hooks whether they are defaulted or listed. */
  lrSchedule: typedConfigSchema.optional(),
  /** Checkpoint to resume from. */
  resumeFrom: z.string().optional(),
  /**
   * Data-parallel ranks on the CPU: 1 (default) trains in this process; N > 1 adds N-1 worker
   * threads, each with its own wasm backend and a share of every batch (gradients averaged in
   * shared memory, so the result is the one-process run's, to float rounding).
   */
  workers: positiveInt.default(1),
});

/** A default hook's params (`interval`, ...: validated by the hook's factory), or `false` to drop it. */
const defaultHookSetting = z.union([z.literal(false), z.looseObject({})]);
export const DEFAULT_HOOK_NAMES = ['logger', 'progress', 'checkpoint', 'eval'] as const;
export const defaultHooksSchema = z.strictObject(Object.fromEntries(DEFAULT_HOOK_NAMES.map((n) => [n, defaultHookSetting.optional()])) as Record<(typeof DEFAULT_HOOK_NAMES)[number], z.ZodOptional<typeof defaultHookSetting>>);

export const configSchema = z.looseObject({
  /** Plugin specs: package names or paths relative to the config file. */
  plugins: z.array(z.string().min(1)).default([]),
  seed: z.number().int().nonnegative().default(42),
  /** tfjs backend: auto, webgpu, tensorflow, node-gpu, wasm, cpu. Default: auto-select. */
  backend: z.string().optional(),
  workDir: z.string().min(1).default('work_dirs/run'),
  model: typedConfigSchema,
  data: dataSchema,
  train: trainSchema.prefault({}),
  /** Hooks added to the default ones (MMEngine's `custom_hooks`). */
  customHooks: z.array(typedConfigSchema).optional(),
  /**
   * The default hooks' settings by name, over what `train` implies (`checkpoint: { interval: 100 }`),
   * or `false` to leave one out (`progress: false`).
   */
  defaultHooks: defaultHooksSchema.optional(),
  /**
   * The complete hook list, replacing the defaults (logger, progress, checkpoint, eval): for runs
   * that want exactly these. To add a hook and keep the defaults, use `customHooks`.
   */
  hooks: z.array(typedConfigSchema).optional(),
  /** Scores validation detections; `{ type: 'coco' }` when val data exists and this is absent. */
  evaluator: typedConfigSchema.optional(),
  /** Owned by the distillation plugin; when it has a `type` it is built as a hook. */
  distill: z.looseObject({}).optional(),
});

/** A config after validation and defaults. */
export type DetkitConfig = z.output<typeof configSchema>;
/** What a user writes (defaults optional). `extends` names a base config file. */
export type DetkitConfigInput = Partial<z.input<typeof configSchema>> & { extends?: string; [section: string]: unknown };

/** The sections core owns; unknown top-level keys close to one of these are treated as typos. */
export const CORE_SECTIONS = ['plugins', 'seed', 'backend', 'workDir', 'model', 'data', 'train', 'hooks', 'customHooks', 'defaultHooks', 'evaluator', 'distill', 'extends'] as const;

/**
 * The one place this package imports @detkit/core from, so the contract surface we use is visible
 * at a glance. TEMPORARY: core's barrel (packages/core/src/index.ts) does not export these yet, so
 * this points at core's source files; once it does, replace both paths with '@detkit/core'.
 */
export { DetkitError, isDetkitError } from '../../core/src/errors.js';
export type { Batch, BatchSource, BatchTarget, Dataset, Detection, Sample } from '../../core/src/data/types.js';
export type { BuildContext, Factory, Logger, PluginContext, Rng, TypedConfig } from '../../core/src/registry/types.js';

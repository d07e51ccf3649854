/**
 * The one place this package imports @detkit/core from, so the contract surface we use is
 * visible at a glance.
 */
export { DetkitError, isDetkitError } from '@detkit/core';
export type { Batch, BatchSource, BatchTarget, Dataset, Detection, Sample } from '@detkit/core';
export type { BuildContext, Factory, Logger, PluginContext, Rng, TypedConfig } from '@detkit/core';

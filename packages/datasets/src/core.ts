/**
 * The one place this package imports @detkit/core from, so the contract surface we use is
 * visible at a glance.
 */
export { DetkitError, isDetkitError, formatValue, findNonFiniteNumber, lineColumn } from '@detkit/core';
export type {
  Batch,
  BatchSource,
  BatchTarget,
  BuildContext,
  Dataset,
  DetkitPlugin,
  Detection,
  Factory,
  Logger,
  PluginContext,
  Rng,
  Sample,
  TypedConfig,
} from '@detkit/core';

export { defineConfig } from './define-config.js';
export type { DetectorParams, DatasetParams, HookParams, ExactFragment, CheckedConfig } from './registered-params.js';
export {
  configSchema,
  typedConfigSchema,
  optimizerSchema,
  dataSchema,
  trainSchema,
  CORE_SECTIONS,
  type DetkitConfig,
  type DetkitConfigInput,
} from './schema.js';
export { loadConfig, readConfigFile, type LoadConfigOptions, type LoadedConfig } from './load.js';
export { deepMerge, isPlainObject } from './merge.js';
export { parseOverride, applyOverrides, type ConfigOverride } from './overrides.js';
export { validateConfig, formatKeyPath } from './validate.js';
export { buildRun, buildModel, buildHooks, defaultHookConfigs, type BuildRunOptions, type LoaderParams } from './build-run.js';
export { jsonErrorOffset, lineColumn, findNonFiniteNumber } from './json-position.js';

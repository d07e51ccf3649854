// @detkit/core/config: what a config file needs (defineConfig and the config types) and nothing
// that loads TensorFlow.js. A config `extends`-ed or imported from another checkout or install
// resolves this entry from its own node_modules; importing all of @detkit/core there would load a
// second tfjs into the run ("Platform node has already been set", two engines).
export { defineConfig } from './config/define-config.js';
export type { DetkitConfig, DetkitConfigInput } from './config/schema.js';
export type { DetectorParams, DatasetParams, HookParams, ExactFragment, CheckedConfig } from './config/registered-params.js';

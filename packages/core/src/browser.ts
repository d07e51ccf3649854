// @detkit/core in a browser: what building a registered detector from its config, loading its
// safetensors weights and running it on an image need, and nothing that imports Node built-ins
// (config files, plugins from disk, the runner, workers). test/browser-entry.test.ts bundles this
// entry for platform 'browser' and fails if a Node built-in is pulled in.
import 'reflect-metadata';

export * from './errors.js';
export * from './data/types.js';
export * from './data/global-batch.js';
export * from './nn/index.js';
export * from './checkpoint/safetensors-codec.js';
export * from './checkpoint/finite.js';
export * from './checkpoint/loaded-scalar.js';
export { CHECKPOINT_FORMAT, WEIGHTS_FORMAT, checkedModelWeights, decodeModelWeights, modelWeightsOf } from './checkpoint/model-weights.js';
export * from './runner/model.js';
export * from './runner/forward-steps.js';
export * from './runner/assert-model.js';
export { assertFiniteDetections } from './runner/evaluation.js';
export type { Hook, IterInfo, Metrics, RunState } from './runner/hook.js';
export * from './registry/types.js';
export { Registry, createRegistry, DIRECT_REGISTRANT, SERVICE_TOKENS, type RegistryEntry } from './registry/registry.js';
export { createServices, type RunServices, type CreateServicesOptions } from './registry/services.js';
export { levenshtein, suggest } from './registry/suggest.js';
export { SeededRng, createRng, splitmix32, hashString } from './util/rng.js';
export { silentLogger, type LogLevel } from './util/logger.js';
export { formatValue } from './util/format-value.js';
export { jsonErrorOffset, lineColumn, findNonFiniteNumber } from './config/json-position.js';
export { installWasmKernels, type WasmKernelReport } from './backend/wasm/install.js';
export * from './backend/ms-deform-attn/index.js';
export { fusedSigmoidFocalLoss, hasFusedFocalLoss } from './backend/focal-loss.js';
export { fusedPairGiou, hasFusedPairGiou } from './backend/giou.js';
export * from './inference/index.js';

export const CORE_VERSION = '0.1.0';

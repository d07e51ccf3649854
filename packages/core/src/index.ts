// @detkit/core public API: one barrel per concept folder.
import 'reflect-metadata';

export * from './errors.js';
export * from './data/types.js';
export * from './data/global-batch.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './checkpoint/index.js';
export * from './runner/index.js';
export * from './registry/index.js';
export * from './config/index.js';
export * from './backend/index.js';
export * from './parallel/index.js';
export * from './inference/index.js';
export * from './web/index.js';
export { writeFileAtomic, tempSibling } from './util/atomic-write.js';
export { formatValue } from './util/format-value.js';
export { removeStaleTemps } from './util/stale-temps.js';

export const CORE_VERSION = '0.1.0';

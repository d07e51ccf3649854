// @detkit/core public API: one barrel per concept folder.
// Type packages our public types need in a user's program whatever its `types` option says
// (TypeScript 6+ includes no @types by default): tfjs-core's hash_util.d.ts names a global
// `Long` that only @types/long declares, and our own types use Buffer and NodeJS.*. Both are
// dependencies of this package; preserve="true" keeps the directives in dist/index.d.ts.
/// <reference types="long" preserve="true" />
/// <reference types="node" preserve="true" />
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
export * from './api/index.js';
export * from './inference/index.js';
export * from './web/index.js';
export { writeFileAtomic, tempSibling } from './util/atomic-write.js';
export { formatValue } from './util/format-value.js';
export { removeStaleTemps } from './util/stale-temps.js';

export const CORE_VERSION = '0.1.0';

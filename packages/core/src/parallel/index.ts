export * from './replica.js';
export * from './seam.js';
export * from './collective.js';
export * from './grad-reduce.js';
export * from './shard.js';
export * from './hooks.js';
export { type ReplicaSnapshot, type WireTensor } from './protocol.js';
export * from './group.js';
export * from './attach.js';

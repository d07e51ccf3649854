// The public API of @detkit/kd-detr (the lead re-exports it from index.ts, with `plugin` as default).
export * from './samplers/index.js';
export * from './loss/kd-loss.js';
export * from './loss/segment-loss.js';
export * from './loss/foreground-weights.js';
export * from './loss/kl-div.js';
export * from './loss/smooth-l1.js';
export * from './loss/global-sums.js';
export * from './methods/method.js';
export * from './methods/consistent-points.js';
export * from './methods/hungarian-logits.js';
export * from './methods/gt-matched-logits.js';
export * from './methods/none.js';
export * from './teacher/load-teacher.js';
export * from './hook/kd-detr-hook.js';
export { detach } from './util/detach.js';
export { registerKdDetr, METHOD_KIND, DEFAULT_SAMPLERS } from './register.js';
export { plugin } from './plugin.js';

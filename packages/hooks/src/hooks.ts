// @detkit/hooks public API (the package index re-exports this and wraps registerHooks in a plugin).
export * from './params.js';
export * from './format.js';
export * from './lr-schedule.js';
export * from './ema.js';
export * from './checkpoint-hook.js';
export * from './eval-hook.js';
export * from './logger-hook.js';
export * from './progress-hook.js';
export * from './register.js';

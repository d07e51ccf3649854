// @detkit/hooks: the standard hooks (logging, progress, checkpointing, evaluation, LR
// schedules, EMA) and the plugin that registers them (loaded by the CLI as a builtin).
import type { DetkitPlugin } from '@detkit/core';
import { registerHooks } from './register.js';

export * from './hooks.js';

export const plugin: DetkitPlugin = {
  name: '@detkit/hooks',
  version: '0.1.0',
  register: registerHooks,
};
export default plugin;

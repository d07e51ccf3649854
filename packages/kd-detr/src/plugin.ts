import type { DetkitPlugin } from '@detkit/core';
import { registerKdDetr } from './register.js';

/** `plugins: ['@detkit/kd-detr']` in a config registers the hook, samplers and methods. */
export const plugin: DetkitPlugin = {
  name: '@detkit/kd-detr',
  version: '0.1.0',
  register: registerKdDetr,
};
export default plugin;

import type { PluginContext } from '../core.js';
import { TRANSFORM_BUILDERS } from './build.js';
import type { Transform } from './transform.js';

/** Registers the built-in transforms (kind 'transform'); browser-safe, so the web page registers them too. */
export function registerTransforms(ctx: PluginContext): void {
  for (const [name, make] of Object.entries(TRANSFORM_BUILDERS)) {
    ctx.register<Transform>('transform', name, (p) => make(p), { description: `built-in transform ${name}` });
  }
}

import type { DetkitPlugin, PluginContext } from '@detkit/core';

/**
 * A detkit plugin is a module whose default export is `{ name, version, register(ctx) }`.
 * `register` only records names; the factories run when a config asks for them. Importing the
 * implementations lazily keeps `detkit list` fast (no tfjs work until a model is built).
 */
const plugin: DetkitPlugin = {
  name: 'template',
  version: '0.1.0',
  register(ctx: PluginContext) {
    ctx.register(
      'detector',
      'template/tiny-detector',
      async (params, build) => {
        const { TinyDetector } = await import('./src/tiny-detector.js');
        return new TinyDetector({ ...params, seed: (params.seed as number | undefined) ?? build.services.rng.fork('template/tiny-detector').int(2 ** 31) });
      },
      { description: 'three stride-2 convs + a linear head: one box and one class per image' },
    );
    ctx.register(
      'hook',
      'template/iteration-counter',
      async (params, build) => {
        const { IterationCounter } = await import('./src/iteration-counter.js');
        return new IterationCounter({ every: params.every as number | undefined, logger: build.services.logger });
      },
      { description: 'counts iterations and logs every N' },
    );
  },
};

export default plugin;

import { DetkitError } from '../core.js';
import type { TypedConfig } from '../core.js';
import { ParamReader } from '../util/params.js';
import { ColorJitter } from './color-jitter.js';
import { Normalize } from './normalize.js';
import { RandomCrop } from './random-crop.js';
import { RandomFlip } from './random-flip.js';
import { Resize } from './resize.js';
import type { Transform } from './transform.js';

/** Builders for the built-in transforms, keyed by registry name; params as in a config file. */
export const TRANSFORM_BUILDERS: Record<string, (params: Record<string, unknown>) => Transform> = {
  resize: (p) => {
    const r = new ParamReader('transform resize', p);
    return new Resize({ shorterSide: r.optionalNumber('shorterSide', { min: 1 }), maxSize: r.optionalNumber('maxSize', { min: 1 }) });
  },
  'random-flip': (p) => new RandomFlip(new ParamReader('transform random-flip', p).number('prob', 0.5, { min: 0, max: 1 })),
  'color-jitter': (p) => {
    const r = new ParamReader('transform color-jitter', p);
    return new ColorJitter({
      brightness: r.number('brightness', 0.2, { min: 0, max: 1 }),
      contrast: r.number('contrast', 0.2, { min: 0, max: 1 }),
      saturation: r.number('saturation', 0.2, { min: 0, max: 1 }),
    });
  },
  normalize: (p) => {
    const r = new ParamReader('transform normalize', p);
    return new Normalize(r.numberArray('mean', [0.485, 0.456, 0.406]), r.numberArray('std', [0.229, 0.224, 0.225]));
  },
  'random-crop': (p) => {
    const r = new ParamReader('transform random-crop', p);
    return new RandomCrop({
      scale: r.range('scale', [0.6, 1], { min: 0, max: 1 }),
      prob: r.number('prob', 1, { min: 0, max: 1 }),
      minBoxSize: r.number('minBoxSize', 2, { min: 0 }),
      minVisibility: r.number('minVisibility', 0.25, { min: 0, max: 1 }),
    });
  },
};

/** Builds a built-in transform from `{ type, ...params }` (without a registry, e.g. in scripts). */
export function buildTransform(config: TypedConfig): Transform {
  const make = TRANSFORM_BUILDERS[config.type];
  if (!make) {
    throw new DetkitError('REGISTRY_UNKNOWN', `unknown transform '${config.type}'; known: ${Object.keys(TRANSFORM_BUILDERS).join(', ')}`, { type: config.type });
  }
  const { type: _type, ...params } = config;
  return make(params);
}

export function isTransform(x: unknown): x is Transform {
  return typeof x === 'object' && x !== null && typeof (x as Transform).apply === 'function' && typeof (x as Transform).type === 'string';
}

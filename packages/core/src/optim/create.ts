import type * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { Adam } from './adam.js';
import type { Optimizer, OptimizerConfig } from './optimizer.js';
import { resolveParamGroups } from './param-groups.js';
import { SGD } from './sgd.js';
import { formatValue } from '../util/format-value.js';

/** PyTorch's defaults, so a config that names only `type` and `lr` behaves like torch.optim. */
const DEFAULT_WEIGHT_DECAY = { adamw: 1e-2, adam: 0, sgd: 0 } as const;

/** Builds the optimizer named by `config.type` over `params` (name, variable), in that order. */
export function createOptimizer(config: OptimizerConfig, params: Array<[string, tf.Variable]>): Optimizer {
  const bad = (key: string, value: unknown, want: string) =>
    new DetkitError('CONFIG_INVALID', `optimizer.${key} must be ${want}, got ${formatValue(value, 80)}`);
  if (!(config.lr >= 0 && Number.isFinite(config.lr))) throw bad('lr', config.lr, 'a finite number >= 0');
  if (!(config.type in DEFAULT_WEIGHT_DECAY)) throw bad('type', config.type, "one of 'adamw', 'adam', 'sgd'");
  const wd = config.weightDecay ?? DEFAULT_WEIGHT_DECAY[config.type];
  if (!(wd >= 0 && Number.isFinite(wd))) throw bad('weightDecay', config.weightDecay, 'a finite number >= 0');
  const resolved = resolveParamGroups(params, config.paramGroups, wd);
  if (config.type === 'sgd') {
    const momentum = config.momentum ?? 0;
    if (!(momentum >= 0 && momentum < 1)) throw bad('momentum', config.momentum, 'in [0, 1)');
    return new SGD(resolved, momentum);
  }
  const betas = config.betas ?? [0.9, 0.999];
  if (!(betas.length === 2 && betas.every((b) => b >= 0 && b < 1))) throw bad('betas', config.betas, 'two numbers in [0, 1)');
  const eps = config.eps ?? 1e-8;
  if (!(eps > 0)) throw bad('eps', config.eps, 'a number > 0');
  return new Adam(resolved, { betas, eps, decoupledWeightDecay: config.type === 'adamw' });
}

import { DetkitError, formatValue, type BuildContext, type PluginContext, type TypedConfig } from '@detkit/core';
import { ResNet, type ResNetOptions } from '../backbone/resnet.js';
import { SmallCnn, type SmallCnnOptions } from '../backbone/small-cnn.js';
import type { Backbone } from '../backbone/types.js';
import { DabDetr } from '../dab-detr/dab-detr.js';
import { DeformableDetr, type DeformableDetrOptions } from '../deformable-detr/deformable-detr.js';
import { Dino, type DinoOptions } from '../dino/dino.js';
import type { DetrCommonOptions } from './detr-base.js';
import { Detr } from './detr.js';

export type Kind = 'number' | 'boolean' | 'string' | 'number[]' | 'string[]' | 'object';

function kindOf(v: unknown): Kind | undefined {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? 'number[]' : v.every((x) => typeof x === 'string') ? 'string[]' : undefined;
  if (typeof v === 'object' && v !== null) return 'object';
  return undefined;
}

/** Checks config params against the keys a factory knows (typos fail with the known list). Shared with faster-rcnn/register.ts. */
export function readParams<T>(where: string, params: Record<string, unknown>, spec: Record<string, Kind>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (k === 'type' || v === undefined) continue;
    const want = spec[k];
    if (!want) throw new DetkitError('CONFIG_INVALID', `${where}: unknown parameter '${k}'; known: ${Object.keys(spec).join(', ')}`, { key: k });
    const got = kindOf(v);
    if (got !== want && !(want === 'number[]' && Array.isArray(v) && v.length === 0)) {
      throw new DetkitError('CONFIG_INVALID', `${where}: parameter '${k}' must be ${want}, got ${formatValue(v, 80)}`, { key: k });
    }
    out[k] = v;
  }
  return out as T;
}

const RESNET_SPEC: Record<keyof ResNetOptions, Kind> = {
  depth: 'number', blocks: 'number[]', block: 'string', baseWidth: 'number', inChannels: 'number',
  norm: 'string', returnStages: 'number[]', frozen: 'boolean', seed: 'number',
};
const SMALL_CNN_SPEC: Record<keyof SmallCnnOptions, Kind> = { inChannels: 'number', channels: 'number[]', batchNorm: 'boolean', seed: 'number' };
const DETR_SPEC: Record<keyof DetrCommonOptions, Kind> = {
  numClasses: 'number', classNames: 'string[]', backbone: 'object', hiddenDim: 'number', numHeads: 'number',
  numEncoderLayers: 'number', numDecoderLayers: 'number', dimFeedforward: 'number', dropout: 'number',
  numQueries: 'number', loss: 'object', matcher: 'object', topK: 'number', seed: 'number',
};

const DEFORMABLE_SPEC: Record<keyof DeformableDetrOptions, Kind> = {
  ...DETR_SPEC, numFeatureLevels: 'number', numPoints: 'number', groupNormGroups: 'number', twoStage: 'boolean',
};

const DINO_SPEC: Record<Exclude<keyof DinoOptions, 'denoisingRandom'>, Kind> = {
  ...DETR_SPEC, numFeatureLevels: 'number', numPoints: 'number', groupNormGroups: 'number',
  denoising: 'boolean', dnNumber: 'number', dnLabelNoise: 'number', dnBoxNoise: 'number', lookForwardTwice: 'boolean',
};

async function detrOptions<T extends DetrCommonOptions = DetrCommonOptions>(name: string, params: Record<string, unknown>, ctx: BuildContext, spec: Record<string, Kind> = DETR_SPEC): Promise<T> {
  const raw = readParams<Omit<T, 'backbone'> & { backbone?: TypedConfig }>(`detector ${name}`, params, spec);
  if (raw.numClasses === undefined) throw new DetkitError('CONFIG_INVALID', `detector ${name}: 'numClasses' is required`, { key: 'numClasses' });
  const backboneCfg = raw.backbone ?? { type: 'resnet', depth: 18 };
  if (typeof backboneCfg.type !== 'string') throw new DetkitError('CONFIG_INVALID', `detector ${name}: 'backbone' must be a { type, ... } config`, { key: 'backbone' });
  const backbone = await ctx.build<Backbone>('backbone', backboneCfg);
  // A model seed fixes every initial weight; drawn from the run's RNG when not given.
  const seed = raw.seed ?? ctx.services.rng.fork(`detector/${name}`).int(0x3fffffff);
  return { ...raw, backbone, seed } as unknown as T;
}

/** Registers 'detr', 'dab-detr', 'deformable-detr', 'dino' (kind 'detector') and 'resnet', 'small-cnn' (kind 'backbone'). */
export function registerDetectors(ctx: PluginContext): void {
  ctx.register<Backbone>('backbone', 'resnet', (p) => new ResNet(readParams<ResNetOptions>('backbone resnet', p, RESNET_SPEC)), {
    description: 'ResNet-18/34/50/101 with configurable width and blocks per stage (NHWC)',
  });
  ctx.register<Backbone>('backbone', 'small-cnn', (p) => new SmallCnn(readParams<SmallCnnOptions>('backbone small-cnn', p, SMALL_CNN_SPEC)), {
    description: 'a few stride-2 3x3 convs: tests and tiny runs',
  });
  ctx.register('detector', 'detr', async (p, b) => new Detr(await detrOptions('detr', p, b)), {
    description: 'DETR with learned queries, sigmoid focal classification',
  });
  ctx.register('detector', 'dab-detr', async (p, b) => new DabDetr(await detrOptions('dab-detr', p, b)), {
    description: 'DAB-DETR (anchor-box queries); implements the query-group contract for KD-DETR',
  });
  ctx.register('detector', 'deformable-detr', async (p, b) => new DeformableDetr(await detrOptions<DeformableDetrOptions>('deformable-detr', p, b, DEFORMABLE_SPEC)), {
    description: 'Deformable DETR (multi-scale deformable attention, anchor-box queries, box refinement); implements the query-group contract',
  });
  ctx.register('detector', 'dino', async (p, b) => new Dino(await detrOptions<DinoOptions>('dino', p, b, DINO_SPEC)), {
    description: 'DINO (contrastive denoising, mixed query selection, look-forward-twice) on Deformable DETR; implements the query-group contract',
  });
}

import { DetkitError, formatValue, type BuildContext, type PluginContext, type TypedConfig } from '@detkit/core';
import type { Backbone } from '../backbone/types.js';
import { readParams, type Kind } from '../detr/register.js';
import { FasterRcnn } from './faster-rcnn.js';
import { ROI_HEAD_DEFAULTS, RPN_DEFAULTS, type FasterRcnnOptions } from './options.js';

const SPEC: Record<keyof FasterRcnnOptions, Kind> = {
  numClasses: 'number', classNames: 'string[]', backbone: 'object', fpnChannels: 'number', extraMaxPool: 'boolean',
  anchorSizes: 'object' /* number[][]: checked below */, aspectRatios: 'number[]', rpn: 'object', roiHead: 'object', smoothL1Beta: 'number', seed: 'number',
};

/** Checks a nested section's keys and value types against its defaults (`rpn.batchSizePerImage`, ...). */
function readSection(section: 'rpn' | 'roiHead', raw: unknown, defaults: object): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DetkitError('CONFIG_INVALID', `detector faster-rcnn: '${section}' must be an object`, { key: section });
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in defaults)) throw new DetkitError('CONFIG_INVALID', `detector faster-rcnn: unknown parameter '${section}.${k}'; known: ${Object.keys(defaults).join(', ')}`, { key: `${section}.${k}` });
    const want = typeof (defaults as Record<string, unknown>)[k];
    if (typeof v !== want || (want === 'number' && !(Number.isFinite(v as number) && (v as number) >= 0))) {
      throw new DetkitError('CONFIG_INVALID', `detector faster-rcnn: '${section}.${k}' must be a ${want === 'number' ? 'finite number >= 0' : want}, got ${formatValue(v, 80)}`, { key: `${section}.${k}` });
    }
  }
  return raw as Record<string, unknown>;
}

async function build(params: Record<string, unknown>, ctx: BuildContext): Promise<FasterRcnn> {
  // readParams knows flat arrays only: the nested anchorSizes list is checked here.
  const { anchorSizes, ...flat } = params;
  const raw = { ...readParams<Omit<FasterRcnnOptions, 'backbone'> & { backbone?: TypedConfig }>('detector faster-rcnn', flat, SPEC), anchorSizes: anchorSizes as number[][] | undefined };
  if (raw.numClasses === undefined) throw new DetkitError('CONFIG_INVALID', "detector faster-rcnn: 'numClasses' is required", { key: 'numClasses' });
  if (raw.anchorSizes !== undefined && !(Array.isArray(raw.anchorSizes) && raw.anchorSizes.every((l) => Array.isArray(l) && l.length > 0 && l.every((s) => typeof s === 'number' && s > 0)))) {
    throw new DetkitError('CONFIG_INVALID', `detector faster-rcnn: 'anchorSizes' must be one non-empty list of positive sizes per RPN level, e.g. [[16], [32], [64]], got ${formatValue(raw.anchorSizes, 80)}`, { key: 'anchorSizes' });
  }
  readSection('rpn', raw.rpn, RPN_DEFAULTS);
  readSection('roiHead', raw.roiHead, ROI_HEAD_DEFAULTS);
  const backboneCfg = raw.backbone ?? { type: 'resnet', depth: 50, returnStages: [0, 1, 2, 3] };
  if (typeof backboneCfg.type !== 'string') throw new DetkitError('CONFIG_INVALID', "detector faster-rcnn: 'backbone' must be a { type, ... } config", { key: 'backbone' });
  const backbone = await ctx.build<Backbone>('backbone', backboneCfg);
  const seed = raw.seed ?? ctx.services.rng.fork('detector/faster-rcnn').int(0x3fffffff);
  try {
    return new FasterRcnn({ ...raw, backbone, seed });
  } catch (e) {
    backbone.dispose();
    throw e;
  }
}

/** Registers 'faster-rcnn' (kind 'detector'). */
export function registerFasterRcnn(ctx: PluginContext): void {
  ctx.register('detector', 'faster-rcnn', build, {
    description: 'Faster R-CNN + FPN (torchvision design; softmax over C+1); implements the RoI contract for heterogeneous KD-DETR',
  });
}

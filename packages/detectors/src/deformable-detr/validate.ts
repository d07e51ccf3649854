import { DetkitError } from '@detkit/core';
import type { DeformableDetrOptions } from './deformable-detr.js';

/** The options every part of the model needs, resolved to their defaults. */
export interface ResolvedDeformableOptions {
  hiddenDim: number;
  numHeads: number;
  numDecoderLayers: number;
  numQueries: number;
  numFeatureLevels: number;
  numPoints: number;
  groupNormGroups: number;
}

/**
 * Checks a deformable-detr configuration (or, under `name`, the deformable part of another detector's, e.g. dino) before any weight is built; a bad value fails with
 * CONFIG_INVALID naming its key (the CLI exits 3), e.g. more levels than the backbone's plus
 * one extra, zero sampling points, or a head count that does not divide the width.
 */
export function checkDeformableOptions(opts: DeformableDetrOptions, name = 'deformable-detr'): ResolvedDeformableOptions {
  const fail = (key: string, what: string): never => {
    throw new DetkitError('CONFIG_INVALID', `${name}: '${key}' ${what}`, { key });
  };
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  const r: ResolvedDeformableOptions = {
    hiddenDim: opts.hiddenDim ?? 256,
    numHeads: opts.numHeads ?? 8,
    numDecoderLayers: opts.numDecoderLayers ?? 6,
    numQueries: opts.numQueries ?? 300,
    numFeatureLevels: opts.numFeatureLevels ?? 4,
    numPoints: opts.numPoints ?? 4,
    groupNormGroups: opts.groupNormGroups ?? 32,
  };
  if (!posInt(opts.numClasses)) fail('numClasses', `must be a positive integer, got ${opts.numClasses}`);
  if (opts.classNames && opts.classNames.length !== opts.numClasses) fail('classNames', `lists ${opts.classNames.length} names for numClasses ${opts.numClasses}`);
  if (!(posInt(r.hiddenDim) && r.hiddenDim % 4 === 0)) fail('hiddenDim', `must be a positive multiple of 4 (sine embeddings of 4 box coordinates), got ${r.hiddenDim}`);
  if (!posInt(r.numHeads) || r.hiddenDim % r.numHeads !== 0) fail('numHeads', `${r.numHeads} does not divide hiddenDim ${r.hiddenDim}`);
  if (!posInt(r.groupNormGroups) || r.hiddenDim % r.groupNormGroups !== 0) fail('groupNormGroups', `${r.groupNormGroups} does not divide hiddenDim ${r.hiddenDim}`);
  if (!posInt(r.numPoints)) fail('numPoints', `must be a positive integer (sampling points per head and level), got ${r.numPoints}`);
  if (!posInt(r.numDecoderLayers)) fail('numDecoderLayers', `must be a positive integer, got ${r.numDecoderLayers}`);
  if (opts.numEncoderLayers !== undefined && !(Number.isInteger(opts.numEncoderLayers) && opts.numEncoderLayers >= 0)) fail('numEncoderLayers', `must be an integer >= 0, got ${opts.numEncoderLayers}`);
  if (!posInt(r.numQueries)) fail('numQueries', `must be a positive integer, got ${r.numQueries}`);
  const available = opts.backbone.outChannels.length;
  if (available < 1) fail('backbone', 'returns no feature level');
  if (!posInt(r.numFeatureLevels) || r.numFeatureLevels > available + 1) {
    fail('numFeatureLevels', `is ${r.numFeatureLevels}: the backbone returns ${available} level(s) (strides ${opts.backbone.strides.join(', ')}) and at most one extra stride-2 level is added, so at most ${available + 1}; return more backbone stages (resnet returnStages) or ask for fewer levels`);
  }
  if (opts.twoStage) throw new DetkitError('NOT_IMPLEMENTED', "deformable-detr: 'twoStage' (encoder proposals as queries) is not implemented yet; leave it false", { key: 'twoStage' });
  return r;
}

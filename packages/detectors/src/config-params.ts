// The params of this package's registered names, for `defineConfig`'s type check (see
// `DetectorParams` in @detkit/core). Runtime checks stay in register.ts (readParams).
import type { TypedConfig } from '@detkit/core';
import type { ResNetOptions } from './backbone/resnet.js';
import type { SmallCnnOptions } from './backbone/small-cnn.js';
import type { DetrCommonOptions } from './detr/detr-base.js';
import type { DeformableDetrOptions } from './deformable-detr/deformable-detr.js';
import type { DinoOptions } from './dino/dino.js';
import type { FasterRcnnOptions } from './faster-rcnn/options.js';

/** A backbone as a config names it. */
export type BackboneConfig = ({ type: 'resnet' } & ResNetOptions) | ({ type: 'small-cnn' } & SmallCnnOptions) | TypedConfig;

/** `detr` and `dab-detr` params as written in a config: the backbone is a `{ type, ... }` fragment. */
export type DetrConfigParams = Omit<DetrCommonOptions, 'backbone'> & { backbone?: BackboneConfig };

/** `deformable-detr` params as written in a config. */
export type DeformableDetrConfigParams = Omit<DeformableDetrOptions, 'backbone'> & { backbone?: BackboneConfig };

/** `dino` params as written in a config (the noise source is not a config value). */
export type DinoConfigParams = Omit<DinoOptions, 'backbone' | 'denoisingRandom'> & { backbone?: BackboneConfig };

/** `faster-rcnn` params as written in a config. */
export type FasterRcnnConfigParams = Omit<FasterRcnnOptions, 'backbone'> & { backbone?: BackboneConfig };

declare module '@detkit/core' {
  interface DetectorParams {
    detr: DetrConfigParams;
    'dab-detr': DetrConfigParams;
    'deformable-detr': DeformableDetrConfigParams;
    dino: DinoConfigParams;
    'faster-rcnn': FasterRcnnConfigParams;
  }
}

import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, Conv2d, DetkitError, Module } from '@detkit/core';
import { downsampleMask } from './mask.js';
import type { Backbone, FeatureMap } from './types.js';
import { tidyAny } from '../transformer/tidy.js';

export type BlockType = 'basic' | 'bottleneck';
export type NormMode = 'batch' | 'frozen';

/** Standard depths (torchvision): blocks per stage and block type. */
export const RESNET_DEPTHS: Record<number, { blocks: number[]; block: BlockType }> = {
  18: { blocks: [2, 2, 2, 2], block: 'basic' },
  34: { blocks: [3, 4, 6, 3], block: 'basic' },
  50: { blocks: [3, 4, 6, 3], block: 'bottleneck' },
  101: { blocks: [3, 4, 23, 3], block: 'bottleneck' },
};

export interface ResNetOptions {
  /** 18, 34, 50 or 101; sets `blocks` and `block` unless given. Default 18. */
  depth?: number;
  /** Blocks per stage (also sets how many stages run: 1-4), e.g. [1, 1, 1] for a tiny net. */
  blocks?: number[];
  block?: BlockType;
  /** Channels of the stem and first stage (torchvision: 64); stage i has baseWidth * 2^i (x4 for bottleneck outputs). */
  baseWidth?: number;
  inChannels?: number;
  /** 'frozen': running statistics only and no trainable BN parameters (DETR's FrozenBatchNorm2d); 'batch' (default): ordinary BN, right when training from scratch. */
  norm?: NormMode;
  /** Stage indices (0-based) whose features are returned; default the last stage. */
  returnStages?: number[];
  /** Freeze the whole backbone (no gradients, BN statistics fixed). */
  frozen?: boolean;
  seed?: number;
}

function bn(c: number, mode: NormMode): BatchNorm2d {
  const m = new BatchNorm2d(c);
  return mode === 'frozen' ? m.freeze() : m;
}

function seeded(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + 13 * k;
}

/** A conv + BN pair used as the residual shortcut (`downsample.0`, `downsample.1`). */
class Downsample extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number, stride: number, norm: NormMode, seed?: number) {
    super();
    this.conv = this.module('0', new Conv2d(cin, cout, 1, { stride, bias: false, seed }));
    this.bn = this.module('1', bn(cout, norm));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.bn.forward(this.conv.forward(x));
  }
}

/** torchvision BasicBlock: 3x3 (stride) -> BN -> ReLU -> 3x3 -> BN, + shortcut, ReLU. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  private readonly convs: Conv2d[];
  private readonly bns: BatchNorm2d[];
  private readonly downsample?: Downsample;

  constructor(cin: number, width: number, stride: number, norm: NormMode, seed?: number) {
    super();
    this.convs = [
      this.module('conv1', new Conv2d(cin, width, 3, { stride, padding: 1, bias: false, seed: seeded(seed, 1) })),
      this.module('conv2', new Conv2d(width, width, 3, { padding: 1, bias: false, seed: seeded(seed, 2) })),
    ];
    this.bns = [this.module('bn1', bn(width, norm)), this.module('bn2', bn(width, norm))];
    if (stride !== 1 || cin !== width) this.downsample = this.module('downsample', new Downsample(cin, width, stride, norm, seeded(seed, 3)));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.relu(this.bns[0]!.forward(this.convs[0]!.forward(x)));
      const z = this.bns[1]!.forward(this.convs[1]!.forward(y as tf.Tensor4D));
      return tf.relu(tf.add(z, this.downsample ? this.downsample.forward(x) : x)) as tf.Tensor4D;
    });
  }
}

/** torchvision Bottleneck (stride on the 3x3, v1.5): 1x1 -> 3x3 -> 1x1 (x4 channels), + shortcut. */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  private readonly convs: Conv2d[];
  private readonly bns: BatchNorm2d[];
  private readonly downsample?: Downsample;

  constructor(cin: number, width: number, stride: number, norm: NormMode, seed?: number) {
    super();
    const cout = width * Bottleneck.expansion;
    this.convs = [
      this.module('conv1', new Conv2d(cin, width, 1, { bias: false, seed: seeded(seed, 1) })),
      this.module('conv2', new Conv2d(width, width, 3, { stride, padding: 1, bias: false, seed: seeded(seed, 2) })),
      this.module('conv3', new Conv2d(width, cout, 1, { bias: false, seed: seeded(seed, 3) })),
    ];
    this.bns = [this.module('bn1', bn(width, norm)), this.module('bn2', bn(width, norm)), this.module('bn3', bn(cout, norm))];
    if (stride !== 1 || cin !== cout) this.downsample = this.module('downsample', new Downsample(cin, cout, stride, norm, seeded(seed, 4)));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y: tf.Tensor4D = x;
      this.convs.forEach((c, i) => {
        y = this.bns[i]!.forward(c.forward(y));
        if (i < 2) y = tf.relu(y);
      });
      return tf.relu(tf.add(y, this.downsample ? this.downsample.forward(x) : x)) as tf.Tensor4D;
    });
  }
}

/**
 * torchvision-style ResNet (names `conv1`, `bn1`, `layer1.0.conv1`, ...) with configurable
 * width and depth so small variants train on this machine. Stem: 7x7/2 conv, BN, ReLU,
 * 3x3/2 max-pool; stage i > 0 halves the resolution. NHWC throughout.
 */
export class ResNet extends Module implements Backbone {
  readonly outChannels: number[];
  readonly strides: number[];
  readonly stageChannels: number[];
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly stages: Module[][];
  private readonly returnStages: number[];

  constructor(opts: ResNetOptions = {}) {
    super();
    const depth = opts.depth ?? 18;
    const preset = RESNET_DEPTHS[depth];
    if (!preset && !(opts.blocks && opts.block)) {
      throw new DetkitError('INVALID_ARGUMENT', `resnet: unknown depth ${depth} (known: ${Object.keys(RESNET_DEPTHS).join(', ')}); or give blocks and block`);
    }
    const blocks = opts.blocks ?? preset!.blocks;
    const blockType = opts.block ?? preset!.block;
    if (blocks.length < 1 || blocks.length > 4 || blocks.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new DetkitError('INVALID_ARGUMENT', `resnet: blocks must be 1-4 positive integers, got [${blocks}]`);
    }
    const base = opts.baseWidth ?? 64;
    const norm = opts.norm ?? 'batch';
    const seed = opts.seed;
    const Block = blockType === 'basic' ? BasicBlock : Bottleneck;
    this.conv1 = this.module('conv1', new Conv2d(opts.inChannels ?? 3, base, 7, { stride: 2, padding: 3, bias: false, seed: seeded(seed, 0) }));
    this.bn1 = this.module('bn1', bn(base, norm));
    let cin = base;
    this.stageChannels = [];
    const stageStrides: number[] = [];
    this.stages = blocks.map((n, s) => {
      const width = base * 2 ** s;
      const list = Array.from({ length: n }, (_, i) => {
        const b = new Block(cin, width, i === 0 && s > 0 ? 2 : 1, norm, seeded(seed, 100 * (s + 1) + i));
        cin = width * Block.expansion;
        return b;
      });
      this.stageChannels.push(cin);
      stageStrides.push(4 * 2 ** s);
      return this.moduleList(`layer${s + 1}`, list);
    });
    this.returnStages = opts.returnStages ?? [blocks.length - 1];
    for (const s of this.returnStages) {
      if (!Number.isInteger(s) || s < 0 || s >= blocks.length) throw new DetkitError('INVALID_ARGUMENT', `resnet: returnStages entry ${s} outside [0, ${blocks.length})`);
    }
    this.outChannels = this.returnStages.map((s) => this.stageChannels[s]!);
    this.strides = this.returnStages.map((s) => stageStrides[s]!);
    if (opts.frozen) this.freeze();
  }

  forward(images: tf.Tensor4D, masks: tf.Tensor3D): FeatureMap[] {
    return tidyAny(() => {
      let x = tf.relu(this.bn1.forward(this.conv1.forward(images))) as tf.Tensor4D;
      x = tf.maxPool(x, 3, 2, 1);
      const out: FeatureMap[] = [];
      this.stages.forEach((blocks, s) => {
        for (const b of blocks) x = (b as BasicBlock).forward(x);
        const k = this.returnStages.indexOf(s);
        if (k >= 0) out.push({ features: x, mask: downsampleMask(masks, x.shape[1], x.shape[2]), stride: this.strides[k]! });
      });
      return out.sort((a, b) => a.stride - b.stride);
    });
  }
}

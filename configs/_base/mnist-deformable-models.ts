// The model shapes of the MNIST Deformable DETR configs, which the DINO configs reuse, and DINO's
// own keys there (a fragment that configs import). The DINO configs extend the Deformable DETR
// ones, but `extends` cannot carry the model section over: a `{ type }` fragment whose type
// changes is replaced whole, so each config spreads its shape here after its own `type`.
import { MNIST_CLASS_NAMES } from './mnist-data.js';

/** The teacher: ResNet-18-like at 1/2 width, 4 levels, 3 encoder + 4 decoder layers, 50 queries. */
export const TEACHER_LAYERS = { encoder: 3, decoder: 4 } as const;
export const mnistDeformableTeacher = {
  numClasses: 10,
  classNames: MNIST_CLASS_NAMES,
  backbone: { type: 'resnet', depth: 18, baseWidth: 32, blocks: [2, 2, 2], returnStages: [0, 1, 2], norm: 'batch' },
  numFeatureLevels: 4,
  numPoints: 4,
  hiddenDim: 128,
  numHeads: 8,
  numEncoderLayers: TEACHER_LAYERS.encoder,
  numDecoderLayers: TEACHER_LAYERS.decoder,
  dimFeedforward: 512,
  dropout: 0,
  numQueries: 50,
} as const;

/** The student: ResNet-18-like at 1/4 width, 3 levels, 2 encoder + 3 decoder layers, 50 queries. */
export const STUDENT_LAYERS = { encoder: 2, decoder: 3 } as const;
export const mnistDeformableStudent = {
  numClasses: 10,
  classNames: MNIST_CLASS_NAMES,
  backbone: { type: 'resnet', depth: 18, baseWidth: 16, blocks: [2, 2, 2], returnStages: [1, 2], norm: 'batch' },
  numFeatureLevels: 3,
  numPoints: 4,
  hiddenDim: 128,
  numHeads: 8,
  numEncoderLayers: STUDENT_LAYERS.encoder,
  numDecoderLayers: STUDENT_LAYERS.decoder,
  dimFeedforward: 512,
  dropout: 0,
  numQueries: 50,
} as const;

/** DINO's own keys in both MNIST DINO configs: denoising budget 20, label noise 0.5, box noise 0.4, look forward twice. */
export const mnistDinoKeys = {
  denoising: true,
  dnNumber: 20,
  dnLabelNoise: 0.5,
  dnBoxNoise: 0.4,
  lookForwardTwice: true,
} as const;

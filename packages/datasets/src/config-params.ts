// The params of this package's datasets, for `defineConfig`'s type check (see `DatasetParams`
// in @detkit/core). Runtime checks stay in register.ts (ParamReader).
import type { CocoDatasetOptions } from './coco/coco-dataset.js';
import type { ImageFilesOptions } from './images/image-files.js';
import type { MnistDetectionOptions } from './mnist/mnist-detection.js';
import type { ShapesOptions } from './shapes/shapes-dataset.js';

declare module '@detkit/core' {
  interface DatasetParams {
    coco: Omit<CocoDatasetOptions, 'logger'>;
    'mnist-detection': Pick<MnistDetectionOptions, 'split' | 'count' | 'seed' | 'canvasSize' | 'digitsPerImage' | 'scaleRange' | 'maxOverlap'>;
    shapes: ShapesOptions;
    images: ImageFilesOptions;
  }
}

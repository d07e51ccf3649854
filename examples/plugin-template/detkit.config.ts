// Run with: npx detkit train examples/plugin-template/detkit.config.ts
// (in this repo: node --import tsx --conditions=source packages/core/src/cli/main.ts train examples/plugin-template/detkit.config.ts)
import type { DetkitConfigInput } from '@detkit/core/config';

export default {
  // Paths are relative to this file; package names resolve from this folder.
  plugins: ['./index.ts'],
  seed: 1,
  workDir: '../../work_dirs/plugin-template',
  model: { type: 'template/tiny-detector', numClasses: 10, channels: 3, width: 16 },
  data: {
    train: { type: 'mnist-detection', split: 'train', count: 512, canvasSize: 64 },
    val: { type: 'mnist-detection', split: 'val', count: 64, canvasSize: 64 },
    batchSize: 8,
  },
  train: { maxIters: 200, optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 1e-4 }, logInterval: 20, evalInterval: 100, checkpointInterval: 100 },
  // Added to the default hooks (logger, progress, checkpoint, eval), which keep their settings
  // from `train`; `hooks: [...]` would replace them instead.
  customHooks: [{ type: 'template/iteration-counter', every: 50 }],
} satisfies DetkitConfigInput;

// The public one-call API: a run to train, a detector to predict with.
export { createRun, type CreateRunOptions, type DetkitRun } from './create-run.js';
export { loadDetector, type ImageInput, type LoadDetectorOptions, type LoadedDetector, type Prediction, type PredictOptions } from './load-detector.js';
export { predictDataset } from './predict-dataset.js';

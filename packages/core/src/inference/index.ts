// Inference on single images, browser-safe: shared by the web page and Node code.
export * from './rgb-image.js';
export * from './detect-image.js';
export * from './build-detector.js';

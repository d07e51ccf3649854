/**
 * `@tensorflow/tfjs-core` on its own registers no gradients (and no chained tensor methods):
 * in Node the only loadable registration lives inside the `@tensorflow/tfjs` bundle, so we
 * import it once (~0.4 s; it also loads tfjs-layers, which nothing here uses). It shares the
 * one tfjs-core instance, so the gradients land in the registry our ops use.
 */
import { getGradient } from '@tensorflow/tfjs-core';

export async function registerTfjsGradients(): Promise<void> {
  if (getGradient('Conv2D') !== undefined) return;
  await import('@tensorflow/tfjs');
}

import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { rename, writeFile } from 'node:fs/promises';
import { buildRun, loadModelWeights, Runner, validateConfig, type Detection, type Metrics, type Registry, type Sample } from '@detkit/core';
import { drawDetections } from '@detkit/datasets';

export interface EvaluatedModel {
  name: string;
  metrics: Metrics;
  /** Detections on the first `visCount` validation images, with those images. */
  samples: Array<{ sample: Sample; detections: Detection[] }>;
}

/**
 * Builds the model of `config` (a run config with validation data), loads `weights` strictly,
 * scores it on the validation set and predicts the first `visCount` images for drawing.
 */
export async function evaluateWeights(registry: Registry, name: string, config: Record<string, unknown>, weights: string, visCount = 4): Promise<EvaluatedModel> {
  const options = await buildRun(validateConfig({ ...config, hooks: [] }, `${name} (evaluation)`), registry);
  const { model, val } = options;
  const sd = await loadModelWeights(weights);
  try {
    model.loadStateDict(sd, { strict: true, source: weights });
  } finally {
    tf.dispose([...sd.values()]);
  }
  const runner = new Runner({ ...options, handleSignals: false });
  try {
    const metrics = await runner.evaluate();
    const samples: EvaluatedModel['samples'] = [];
    if (val && visCount > 0) {
      const it = val.source.batches(0)[Symbol.asyncIterator]();
      while (samples.length < visCount) {
        const next = await it.next();
        if (next.done) break;
        const batch = next.value;
        try {
          const dets = await model.predict(batch);
          for (let i = 0; i < batch.targets.length && samples.length < visCount; i++) {
            samples.push({ sample: await val.dataset.get(samples.length), detections: dets[i]! });
          }
        } finally {
          tf.dispose([batch.images, batch.masks]);
        }
      }
      await it.return?.();
    }
    return { name, metrics, samples };
  } finally {
    runner.dispose();
    model.dispose();
  }
}

/**
 * One PNG: a row per model (teacher, student alone, student + KD-DETR), a column per
 * validation image; ground truth green, predictions red (score >= threshold).
 */
export async function writeDetectionGrid(file: string, models: readonly EvaluatedModel[], classNames: readonly string[], scale = 4, scoreThreshold = 0.3): Promise<void> {
  const label = 22;
  const tiles: Array<{ input: Buffer; left: number; top: number }> = [];
  let cellW = 0;
  let cellH = 0;
  for (const [r, m] of models.entries()) {
    for (const [c, s] of m.samples.entries()) {
      const png = await drawDetections(s.sample, { predictions: s.detections, classNames, scale, scoreThreshold });
      const meta = await sharp(png).metadata();
      cellW = Math.max(cellW, meta.width ?? 0);
      cellH = Math.max(cellH, meta.height ?? 0);
      tiles.push({ input: png, left: c, top: r });
    }
  }
  const cols = Math.max(1, ...models.map((m) => m.samples.length));
  const width = cols * (cellW + 4) + 4;
  const height = models.length * (cellH + label + 4) + 4;
  const esc = (s: string) => s.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const text = models
    .map((m, r) => `<text x="6" y="${r * (cellH + label + 4) + 17}" font-family="sans-serif" font-size="14">${esc(`${m.name} (AP ${(100 * (m.metrics.AP ?? 0)).toFixed(1)})`)}</text>`)
    .join('');
  const labels = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${text}</svg>`);
  const png = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite([
      { input: labels, left: 0, top: 0 },
      ...tiles.map((t) => ({ input: t.input, left: 4 + t.left * (cellW + 4), top: t.top * (cellH + label + 4) + label + 4 })),
    ])
    .png()
    .toBuffer();
  await writeFile(`${file}.tmp`, png);
  await rename(`${file}.tmp`, file);
}

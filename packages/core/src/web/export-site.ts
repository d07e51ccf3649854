import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CHECKPOINT_FORMAT, WEIGHTS_FORMAT, checkedModelWeights } from '../checkpoint/model-weights.js';
import { encodeSafetensors, readSafetensors } from '../checkpoint/safetensors.js';
import { detkitVersion } from '../checkpoint/checkpoint.js';
import { openSession, type GlobalOptions } from '../cli/session.js';
import { DetkitError } from '../errors.js';
import { buildDetector } from '../inference/build-detector.js';
import { tempSibling, writeFileAtomic } from '../util/atomic-write.js';
import { bundlePage } from './bundle-page.js';
import { siteIndexHtml, SITE_BUNDLE } from './site-html.js';
import { SITE_FORMAT, SITE_MANIFEST, SITE_WEIGHTS, type SiteManifest } from './site-manifest.js';
import { pagePluginModules } from './site-plugins.js';

/** tfjs's single-threaded wasm binaries (the page turns threads off: they need cross-origin isolation). */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

export interface ExportWebOptions extends GlobalOptions {
  /** The config file (its model, valTransforms and plugins). */
  config: string;
  /** Weights file or full checkpoint. */
  checkpoint: string;
  /** The site's folder. */
  out: string;
  /** Replace `out` when it exists. */
  force?: boolean;
  /** Metrics to show (e.g. the demo's evaluation), when the checkpoint records none. */
  metrics?: Record<string, number>;
}

export interface ExportedSite {
  dir: string;
  files: { name: string; bytes: number }[];
  /** Bundle plus weights: what a browser downloads besides one wasm binary and the page. */
  bundleAndWeightsBytes: number;
}

/**
 * `detkit export web`: a static site that runs the config's detector with the checkpoint's
 * weights in a browser. The model is built and the weights loaded strictly in Node first, so a
 * site that could not load is never written; the site is written into a temp folder beside
 * `out` and renamed into place.
 */
export async function exportWebSite(options: ExportWebOptions): Promise<ExportedSite> {
  const out = resolve(options.out);
  if (existsSync(out) && !options.force) {
    throw new DetkitError('INVALID_ARGUMENT', `--out ${out} already exists; pass --force to replace it`, { path: out });
  }
  const session = await openSession(options.config, options);
  const { config, file } = session.loaded;
  const checkpoint = resolve(options.checkpoint);
  const content = await readSafetensors(checkpoint);
  const info = checkpointInfo(checkpoint, content.metadata);
  const weights = await checkedModelWeights(checkpoint, content);
  const files = new Map<string, Uint8Array | string>();
  let classNames: string[];
  try {
    const model = await buildDetector(session.registry, config.model, weights, checkpoint);
    classNames = [...model.classNames];
    model.dispose();
    files.set(SITE_WEIGHTS, await encodeSafetensors(weights, { format: WEIGHTS_FORMAT, detkitVersion: detkitVersion(), exportedFrom: basename(checkpoint) }));
  } finally {
    weights.forEach((t) => t.dispose());
  }
  const transforms = config.data.valTransforms ?? [];
  const manifest: SiteManifest = {
    format: SITE_FORMAT,
    name: basename(file, extname(file)),
    model: config.model,
    transforms,
    classNames,
    drawSize: drawSizeOf(config.data.val ?? config.data.train),
    weights: SITE_WEIGHTS,
    checkpoint: { file: basename(checkpoint), iter: info.iter, metrics: info.metrics ?? options.metrics },
    detkitVersion: detkitVersion(),
  };
  const plugins = pagePluginModules(session.registry, session.plugins, [config.model, transforms]);
  const bundle = await bundlePage({ plugins, extraImports: installed('@tensorflow/tfjs-backend-webgpu') ? ['@tensorflow/tfjs-backend-webgpu'] : [] });
  files.set(SITE_BUNDLE, bundle.code);
  files.set(SITE_MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  files.set('index.html', siteIndexHtml(`${manifest.name}: ${manifest.model.type} in the browser`));
  for (const name of WASM_FILES) files.set(name, await readFile(join(wasmDist(), name)));
  await writeSiteAtomically(out, files);
  const sizes = [...files].map(([name, data]) => ({ name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength }));
  const bytesOf = (name: string) => sizes.find((s) => s.name === name)!.bytes;
  return { dir: out, files: sizes, bundleAndWeightsBytes: bytesOf(SITE_BUNDLE) + bytesOf(SITE_WEIGHTS) };
}

/** Iteration and metrics a checkpoint records: a full checkpoint's meta (`extra.metrics`), or a weights file's `iter` / `metrics` (JSON). */
function checkpointInfo(file: string, metadata: Record<string, string>): { iter?: number; metrics?: Record<string, number> } {
  let iter: unknown = metadata.iter;
  let metrics: unknown = metadata.metrics;
  try {
    if (metadata.format === CHECKPOINT_FORMAT && metadata.detkit) {
      const meta = JSON.parse(metadata.detkit) as { iter?: number; extra?: { metrics?: unknown } };
      iter = meta.iter;
      metrics = meta.extra?.metrics;
    } else if (typeof metrics === 'string') metrics = JSON.parse(metrics);
  } catch (e) {
    throw new DetkitError('CHECKPOINT_CORRUPT', `Checkpoint ${file}: metadata is not JSON: ${(e as Error).message}`, { file });
  }
  const n = Number(iter);
  const numeric = typeof metrics === 'object' && metrics !== null && Object.values(metrics).every((v) => typeof v === 'number');
  return { iter: iter !== undefined && Number.isInteger(n) ? n : undefined, metrics: numeric ? (metrics as Record<string, number>) : undefined };
}

/** The drawing pad's size: the data's square canvas (MNIST-detection, shapes), else 256 px. */
function drawSizeOf(data: Record<string, unknown> | undefined): number {
  const size = data?.canvasSize;
  return typeof size === 'number' && Number.isInteger(size) && size >= 8 ? size : 256;
}

function installed(specifier: string): boolean {
  try {
    createRequire(import.meta.url).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

function wasmDist(): string {
  return dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
}

/** Writes every file into a temp folder beside `out`, then swaps it in: `out` is the old site or the new one, never half of either. */
async function writeSiteAtomically(out: string, files: Map<string, Uint8Array | string>): Promise<void> {
  const tmp = tempSibling(out);
  let old: string | undefined;
  try {
    for (const [name, data] of files) await writeFileAtomic(join(tmp, name), data);
    if (existsSync(out)) {
      if (!(await stat(out)).isDirectory()) throw new DetkitError('INVALID_ARGUMENT', `--out ${out} exists and is not a folder`, { path: out });
      old = tempSibling(out);
      await rename(out, old);
    }
    await rename(tmp, out);
  } catch (e) {
    if (old && !existsSync(out)) await rename(old, out).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw e instanceof DetkitError ? e : new DetkitError('IO', `Cannot write the site ${out}: ${(e as Error).message}`, { path: out }, { cause: e });
  }
  if (old) await rm(old, { recursive: true, force: true });
}

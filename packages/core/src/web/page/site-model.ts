// The exported site's detector, rebuilt from model.json and the weights bytes through the
// registry, as the CLI builds it. Browser-safe: imports only the browser entry of core.
import {
  buildDetector,
  buildTransforms,
  createRegistry,
  createRng,
  createServices,
  decodeModelWeights,
  DetkitError,
  type DetkitPlugin,
  type ImageTransform,
  type Logger,
  type TrainableModel,
} from '../../browser.js';
import type { SiteManifest } from '../site-manifest.js';

export interface SiteModel {
  model: TrainableModel;
  transforms: ImageTransform[];
}

/** A module the bundle imported as a plugin: its default export, or a `plugin` export. */
export type PluginModule = { default?: unknown; plugin?: unknown };

function pluginOf(mod: PluginModule, index: number): DetkitPlugin {
  const p = (mod.default ?? mod.plugin) as Partial<DetkitPlugin> | undefined;
  if (typeof p?.name !== 'string' || typeof p.register !== 'function') {
    throw new DetkitError('PLUGIN_INVALID', `the page's plugin module #${index} exports no { name, version, register } plugin`);
  }
  return p as DetkitPlugin;
}

/**
 * Registers `plugins`, builds the manifest's detector and transforms and loads the weights
 * strictly. Corrupt weights throw CHECKPOINT_CORRUPT and an unknown detector REGISTRY_UNKNOWN,
 * both naming what is at fault; the decoded tensors are freed either way.
 */
export async function loadSiteModel(manifest: SiteManifest, weightsBytes: Uint8Array, plugins: readonly PluginModule[], logger: Logger): Promise<SiteModel> {
  const registry = createRegistry(createServices({ logger, rng: createRng(0), backend: 'browser' }).services);
  for (const [i, mod] of plugins.entries()) {
    const plugin = pluginOf(mod, i);
    await plugin.register(registry.pluginContext(plugin.name));
  }
  // Transforms first: they hold no tensors, so a bad one leaks nothing.
  const transforms = await buildTransforms(registry, manifest.transforms);
  const weights = await decodeModelWeights(weightsBytes, manifest.weights);
  try {
    return { model: await buildDetector(registry, manifest.model, weights, manifest.weights), transforms };
  } finally {
    weights.forEach((t) => t.dispose());
  }
}

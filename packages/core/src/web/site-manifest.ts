import { DetkitError } from '../errors.js';
import type { TypedConfig } from '../registry/types.js';

/** The manifest format `detkit export web` writes and the page reads. */
export const SITE_FORMAT = 'detkit-web/1';
export const SITE_MANIFEST = 'model.json';
export const SITE_WEIGHTS = 'weights.safetensors';

/**
 * `model.json` of an exported site: what the page needs to rebuild the detector and feed it as
 * the validation loader does. Browser-safe (no Node built-ins): the page parses it too.
 */
export interface SiteManifest {
  format: typeof SITE_FORMAT;
  /** The config file's name without extension, e.g. `mnist-student`. */
  name: string;
  /** The config's `model` section, as the registry builds it. */
  model: TypedConfig;
  /** The config's `data.valTransforms` (what the loader applies before the model). */
  transforms: TypedConfig[];
  classNames: string[];
  /** Side of the square drawing pad, in model pixels (the data's `canvasSize`, else 256). */
  drawSize: number;
  /** Weights file beside the manifest. */
  weights: string;
  /** Where the weights came from: the checkpoint's file name and its metrics when it recorded them. */
  checkpoint: { file: string; iter?: number; metrics?: Record<string, number> };
  detkitVersion: string;
}

/** Validates a parsed `model.json`; errors name `source` and the key at fault. */
export function parseSiteManifest(raw: unknown, source: string): SiteManifest {
  const bad = (key: string, want: string, got: unknown) =>
    new DetkitError('CONFIG_INVALID', `${source}: '${key}' must be ${want}, got ${JSON.stringify(got) ?? String(got)}`, { file: source, key });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('(root)', 'an object', raw);
  const m = raw as Record<string, unknown>;
  if (m.format !== SITE_FORMAT) throw bad('format', `'${SITE_FORMAT}'`, m.format);
  const model = m.model as Record<string, unknown> | undefined;
  if (typeof model !== 'object' || model === null || typeof model.type !== 'string') throw bad('model', 'a { type, ... } config', m.model);
  if (!Array.isArray(m.transforms) || !m.transforms.every((t) => typeof (t as TypedConfig)?.type === 'string')) throw bad('transforms', 'a list of { type, ... } configs', m.transforms);
  if (!Array.isArray(m.classNames) || !m.classNames.every((c) => typeof c === 'string')) throw bad('classNames', 'a list of strings', m.classNames);
  if (!Number.isInteger(m.drawSize) || (m.drawSize as number) < 8) throw bad('drawSize', 'an integer >= 8', m.drawSize);
  if (typeof m.weights !== 'string' || m.weights === '' || m.weights.includes('/')) throw bad('weights', 'a file name beside the manifest', m.weights);
  const checkpoint = m.checkpoint as Record<string, unknown> | undefined;
  if (typeof checkpoint !== 'object' || checkpoint === null || typeof checkpoint.file !== 'string') throw bad('checkpoint', 'an object with a file name', m.checkpoint);
  if (typeof m.name !== 'string') throw bad('name', 'a string', m.name);
  return raw as SiteManifest;
}

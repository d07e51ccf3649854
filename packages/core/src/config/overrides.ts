import { DetkitError } from '../errors.js';
import { isPlainObject } from './merge.js';

export interface ConfigOverride {
  /** As written, for error messages. */
  source: string;
  path: string[];
  value: unknown;
}

/**
 * `train.maxIters=200` -> path ['train','maxIters'], value 200. Values are JSON when they
 * parse as JSON (numbers, true/false, null, [..], {..}, "quoted"), else the raw string, so
 * `--set model.type=dab-detr` needs no quotes.
 */
export function parseOverride(text: string): ConfigOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new DetkitError('CONFIG_INVALID', `--set '${text}': expected key.path=value (e.g. train.maxIters=200)`);
  }
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  const path = key.split('.');
  if (path.some((p) => p === '')) {
    throw new DetkitError('CONFIG_INVALID', `--set '${text}': key path '${key}' has an empty segment`);
  }
  if (path.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) {
    throw new DetkitError('CONFIG_INVALID', `--set '${text}': key path '${key}' is not allowed`);
  }
  return { source: text, path, value: parseValue(raw) };
}

function parseValue(raw: string): unknown {
  const t = raw.trim();
  if (t === '') return '';
  try {
    return JSON.parse(t);
  } catch {
    return raw;
  }
}

/**
 * Sets each override's value in (a copy of) `config`, creating objects along the path.
 * Numeric segments index into arrays (`hooks.0.interval=5`).
 */
export function applyOverrides(config: Record<string, unknown>, overrides: readonly (string | ConfigOverride)[]): Record<string, unknown> {
  const root = structuredClone(config);
  for (const o of overrides) {
    const { path, value, source } = typeof o === 'string' ? parseOverride(o) : o;
    let node: unknown = root;
    for (let i = 0; i < path.length - 1; i++) {
      const seg = path[i]!;
      const container = node as Record<string, unknown>;
      let next = container[seg];
      if (next === undefined) {
        next = {};
        container[seg] = next;
      }
      if (!isPlainObject(next) && !Array.isArray(next)) {
        throw new DetkitError(
          'CONFIG_INVALID',
          `--set '${source}': '${path.slice(0, i + 1).join('.')}' is ${JSON.stringify(next)}, not an object, so '${path.join('.')}' cannot be set`,
        );
      }
      node = next;
    }
    const last = path[path.length - 1]!;
    if (Array.isArray(node) && !/^\d+$/.test(last)) {
      throw new DetkitError('CONFIG_INVALID', `--set '${source}': '${path.slice(0, -1).join('.')}' is an array; '${last}' is not an index`);
    }
    (node as Record<string, unknown>)[last] = value;
  }
  return root;
}

import { DetkitError } from '../errors.js';
import { findNonFiniteNumber } from './json-position.js';
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
  return { source: text, path, value: parseValue(raw, text) };
}

function parseValue(raw: string, text: string): unknown {
  const t = raw.trim();
  if (t === '') return '';
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return raw;
  }
  // JSON.parse reads 1e999 as Infinity; no config key wants that.
  const huge = findNonFiniteNumber(t);
  if (huge) throw new DetkitError('CONFIG_INVALID', `--set '${text}': the number ${huge.literal} does not fit a double (it would read as Infinity)`);
  return value;
}

/** `--set 1e3` is 1000: the value as read, when its JSON differs from what was typed (else undefined). */
export function reinterpretation(o: ConfigOverride): string | undefined {
  const typed = o.source.slice(o.source.indexOf('=') + 1).trim();
  const read = typeof o.value === 'string' ? o.value : JSON.stringify(o.value);
  return read === typed || typeof o.value === 'string' ? undefined : read;
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

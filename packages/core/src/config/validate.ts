import type { z } from 'zod';
import { DetkitError } from '../errors.js';
import { suggest } from '../registry/suggest.js';
import { formatValue } from '../util/format-value.js';
import { CORE_SECTIONS, configSchema, type DetkitConfig } from './schema.js';

/** `['data','transforms',1,'type']` -> `data.transforms[1].type`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(root)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[seg];
  }
  return node;
}

function show(v: unknown): string {
  return v === undefined ? 'nothing (missing)' : formatValue(v, 60);
}

/** The keys a (possibly wrapped) object schema accepts at `path`, for "did you mean". */
function schemaKeysAt(path: readonly PropertyKey[]): string[] {
  let node: unknown = configSchema;
  const unwrap = () => {
    for (let guard = 0; guard < 10; guard++) {
      const def = (node as { _zod?: { def?: { innerType?: unknown; element?: unknown } } })._zod?.def;
      if (def?.innerType) node = def.innerType;
      else break;
    }
  };
  for (const seg of path) {
    unwrap();
    const def = (node as { _zod?: { def?: { element?: unknown } } })._zod?.def;
    const shape = (node as { shape?: Record<string, unknown> }).shape;
    if (typeof seg === 'number' && def?.element) node = def.element;
    else if (shape && typeof seg === 'string' && seg in shape) node = shape[seg];
    else return [];
  }
  unwrap();
  return Object.keys((node as { shape?: Record<string, unknown> }).shape ?? {});
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    const parent = valueAt(raw, issue.path) as Record<string, unknown> | undefined;
    const known = schemaKeysAt(issue.path);
    return issue.keys.map((k) => {
      const hint = suggest(k, known);
      return `${formatKeyPath([...issue.path, k])}: unknown key (value ${show(parent?.[k])})` +
        (hint ? `; did you mean '${hint}'?` : known.length ? `; known keys: ${known.join(', ')}` : '');
    });
  }
  return [`${formatKeyPath(issue.path)}: ${issue.message} (got ${show(valueAt(raw, issue.path))})`];
}

/**
 * Validates a merged config object and fills defaults. CONFIG_INVALID lists every problem,
 * one per line, each with its key path and the bad value.
 */
export function validateConfig(raw: unknown, file: string): DetkitConfig {
  const problems: string[] = [];
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    // Top level keeps unknown sections for plugins, but a near-miss of a core section is a typo.
    for (const key of Object.keys(raw)) {
      if ((CORE_SECTIONS as readonly string[]).includes(key)) continue;
      const hint = suggest(key, CORE_SECTIONS);
      if (hint && hint !== key) problems.push(`${key}: unknown section (did you mean '${hint}'?)`);
    }
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) for (const issue of result.error.issues) problems.push(...describeIssue(issue, raw));
  if (problems.length > 0 || !result.success) {
    throw new DetkitError('CONFIG_INVALID', `Invalid config ${file}:\n  ${problems.join('\n  ')}`, { file, problems });
  }
  return result.data;
}

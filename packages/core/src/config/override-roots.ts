import { DetkitError } from '../errors.js';
import { suggest } from '../registry/suggest.js';
import { isPlainObject } from './merge.js';
import type { ConfigOverride } from './overrides.js';
import { CORE_SECTIONS, configSchema } from './schema.js';

/**
 * `--set` may create keys anywhere (strict sections reject typos in validation), but a
 * top-level key that is neither a core section nor already in the config would be kept as a
 * plugin section and silently ignored: `--set lr=1` must fail, naming what was probably meant.
 */
export function checkOverrideRoots(config: Record<string, unknown>, overrides: readonly ConfigOverride[], file: string): void {
  const roots = new Set<string>([...CORE_SECTIONS, ...Object.keys(config)]);
  const problems: string[] = [];
  for (const o of overrides) {
    const root = o.path[0]!;
    if (roots.has(root)) continue;
    problems.push(`--set '${o.source}': unknown top-level key '${root}' (not a core section, not in the config)${hint(o.path, config, roots)}`);
  }
  if (problems.length > 0) {
    throw new DetkitError('CONFIG_INVALID', `Invalid config ${file}:\n  ${problems.join('\n  ')}`, { file, problems });
  }
}

function hint(path: readonly string[], config: Record<string, unknown>, roots: Set<string>): string {
  const last = path[path.length - 1]!;
  // `lr` -> `train.optimizer.lr`: a known key path that ends with what was written.
  const tail = '.' + path.join('.');
  const endings = [...new Set([...keyPaths(config), ...schemaKeyPaths()])].filter((p) => p.endsWith(tail) || p.endsWith('.' + last));
  const exact = endings.filter((p) => p.endsWith(tail));
  const found = exact.length > 0 ? exact : endings;
  if (found.length > 0) return `; did you mean ${found.slice(0, 3).map((p) => `'${p}'`).join(' or ')}?`;
  const near = suggest(path[0]!, roots);
  return near ? `; did you mean '${near}'?` : `; known sections: ${[...roots].join(', ')}`;
}

/** Dotted key paths of a plain object (arrays are not entered). */
function keyPaths(obj: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix + k;
    out.push(p);
    if (isPlainObject(v)) out.push(...keyPaths(v, p + '.'));
  }
  return out;
}

let cachedSchemaPaths: string[] | undefined;

/** Dotted key paths the config schema declares (through defaults and optionals). */
function schemaKeyPaths(): string[] {
  cachedSchemaPaths ??= walk(configSchema, '');
  return cachedSchemaPaths;
}

type ZodLike = { _zod?: { def?: { innerType?: unknown } }; shape?: Record<string, unknown> };

function walk(node: unknown, prefix: string): string[] {
  let n = node as ZodLike;
  for (let guard = 0; guard < 10 && n._zod?.def?.innerType; guard++) n = n._zod.def.innerType as ZodLike;
  const out: string[] = [];
  for (const [k, child] of Object.entries(n.shape ?? {})) {
    out.push(prefix + k);
    out.push(...walk(child, `${prefix}${k}.`));
  }
  return out;
}

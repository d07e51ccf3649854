/** True for `{...}` literals and JSON objects (not arrays, class instances, null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * `override` on top of `base`: plain objects merge key by key, everything else (arrays
 * included) is replaced. A `{ type }` fragment whose type changes is replaced whole, because
 * the base's params belong to a different factory. Inputs are not modified.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (override === undefined) return clone(base);
  if (!isPlainObject(base) || !isPlainObject(override)) return clone(override);
  if (typeof base.type === 'string' && typeof override.type === 'string' && base.type !== override.type) {
    return clone(override);
  }
  const out: Record<string, unknown> = clone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v);
  return out;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

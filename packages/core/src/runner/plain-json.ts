/**
 * A config as plain JSON values: RegExps as their source, functions and undefined members
 * dropped. What a checkpoint stores of its run's config (training-config.ts) and what its hash
 * is taken over (config-hash.ts), so the two cannot disagree about a value.
 */
export function plainJson(v: unknown): unknown {
  if (v instanceof RegExp) return v.toString();
  if (Array.isArray(v)) return v.map(plainJson);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined && typeof x !== 'function')
        .map(([k, x]) => [k, plainJson(x)]),
    );
  }
  return v;
}

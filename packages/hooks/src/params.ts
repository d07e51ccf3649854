import { DetkitError, formatValue } from '@detkit/core';

/**
 * Reading a hook's config params with errors that name the hook and the key. Unknown keys
 * are errors too (a typo like `intervall` must not silently fall back to a default).
 */
export class HookParams {
  constructor(
    private readonly hook: string,
    private readonly params: Record<string, unknown>,
    known: readonly string[],
  ) {
    for (const key of Object.keys(params)) {
      if (key !== 'type' && !known.includes(key)) {
        throw this.bad(key, params[key], `is not a parameter of this hook (known: ${known.join(', ')})`);
      }
    }
  }

  private bad(key: string, value: unknown, problem: string): DetkitError {
    return new DetkitError('CONFIG_INVALID', `hook '${this.hook}': ${key}=${formatValue(value, 80)} ${problem}`, { hook: this.hook, key });
  }

  number(key: string, fallback: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
    const v = this.params[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.bad(key, v, 'must be a finite number');
    if (opts.integer && !Number.isInteger(v)) throw this.bad(key, v, 'must be an integer');
    if (opts.min !== undefined && v < opts.min) throw this.bad(key, v, `must be >= ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) throw this.bad(key, v, `must be <= ${opts.max}`);
    return v;
  }

  optionalNumber(key: string, opts: { min?: number; integer?: boolean } = {}): number | undefined {
    return this.params[key] === undefined ? undefined : this.number(key, 0, opts);
  }

  string(key: string, fallback: string): string {
    const v = this.params[key] ?? fallback;
    if (typeof v !== 'string') throw this.bad(key, v, 'must be a string');
    return v;
  }

  optionalString(key: string): string | undefined {
    return this.params[key] === undefined ? undefined : this.string(key, '');
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const v = this.params[key] ?? fallback;
    if (typeof v !== 'string' || !choices.includes(v as T)) throw this.bad(key, v, `must be one of ${choices.join(', ')}`);
    return v as T;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.params[key] ?? fallback;
    if (typeof v !== 'boolean') throw this.bad(key, v, 'must be true or false');
    return v;
  }

  /** A strictly increasing list of non-negative integers. */
  milestones(key: string): number[] {
    const v = this.params[key] ?? [];
    if (!Array.isArray(v) || v.some((x, i) => !Number.isInteger(x) || x < 0 || (i > 0 && x <= v[i - 1]))) {
      throw this.bad(key, v, 'must be an increasing list of non-negative integers');
    }
    return v as number[];
  }
}

import { DetkitError } from '@detkit/core';

/**
 * Reads a factory's config params, failing with the key path on an unknown key or a wrong
 * type (typos must not be silently ignored: a misspelt `foregroundWeighting` would change
 * the experiment without a word).
 */
export class Params {
  constructor(
    private readonly where: string,
    private readonly params: Record<string, unknown>,
    known: readonly string[],
  ) {
    const unknown = Object.keys(params).filter((k) => k !== 'type' && params[k] !== undefined && !known.includes(k));
    if (unknown.length > 0) {
      throw new DetkitError('CONFIG_INVALID', `${where}: unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${known.join(', ')}`, { key: `${where}.${unknown[0]}` });
    }
  }

  private fail(key: string, want: string): never {
    throw new DetkitError('CONFIG_INVALID', `${this.where}.${key} must be ${want}, got ${JSON.stringify(this.params[key])}`, { key: `${this.where}.${key}` });
  }

  number(key: string, fallback: number): number;
  number(key: string): number | undefined;
  number(key: string, fallback?: number): number | undefined {
    const v = this.params[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a finite number');
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.params[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  string(key: string, fallback: string): string;
  string(key: string): string | undefined;
  string(key: string, fallback?: string): string | undefined {
    const v = this.params[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v === '') this.fail(key, 'a non-empty string');
    return v;
  }

  /** One of a fixed set of strings (`'image' | 'roi'`); the error lists them. */
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const v = this.params[key];
    if (v === undefined) return fallback;
    if (!choices.includes(v as T)) this.fail(key, `one of ${choices.map((c) => `'${c}'`).join(', ')}`);
    return v as T;
  }

  object(key: string): Record<string, unknown> | undefined {
    const v = this.params[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(key, 'an object');
    return v as Record<string, unknown>;
  }

  array(key: string): unknown[] | undefined {
    const v = this.params[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, 'an array');
    return v;
  }

  raw(key: string): unknown {
    return this.params[key];
  }
}

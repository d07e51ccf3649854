import { DetkitError, formatValue } from '../core.js';

/** Small readers for registry params: they name the entry and key at fault. */
export class ParamReader {
  constructor(
    private readonly where: string,
    private readonly params: Record<string, unknown>,
  ) {}

  private fail(key: string, want: string): never {
    const got = formatValue(this.params[key], 80);
    throw new DetkitError('CONFIG_INVALID', `${this.where}: '${key}' must be ${want}, got ${got}`, { key, value: this.params[key] });
  }

  has(key: string): boolean {
    return this.params[key] !== undefined;
  }

  number(key: string, dflt?: number, opts: { min?: number; max?: number; int?: boolean } = {}): number {
    const v = this.params[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a finite number');
    if (opts.int && !Number.isInteger(v)) this.fail(key, 'an integer');
    if (opts.min !== undefined && v < opts.min) this.fail(key, `>= ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) this.fail(key, `<= ${opts.max}`);
    return v;
  }

  optionalNumber(key: string, opts: { min?: number; max?: number; int?: boolean } = {}): number | undefined {
    return this.has(key) ? this.number(key, undefined, opts) : undefined;
  }

  boolean(key: string, dflt: boolean): boolean {
    const v = this.params[key] ?? dflt;
    if (typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  string(key: string, dflt?: string): string {
    const v = this.params[key] ?? dflt;
    if (typeof v !== 'string' || v.length === 0) this.fail(key, 'a non-empty string');
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], dflt: T): T {
    const v = this.params[key] ?? dflt;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) this.fail(key, `one of ${choices.join(', ')}`);
    return v as T;
  }

  /** A [lo, hi] pair; a single number n means [n, n]. */
  range(key: string, dflt: [number, number], opts: { min?: number; max?: number; int?: boolean } = {}): [number, number] {
    let v = this.params[key] ?? dflt;
    if (typeof v === 'number') v = [v, v];
    if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) this.fail(key, 'a [min, max] pair of numbers');
    const [lo, hi] = v as [number, number];
    if (lo > hi) this.fail(key, 'a pair with min <= max');
    if (opts.int && (!Number.isInteger(lo) || !Number.isInteger(hi))) this.fail(key, 'a pair of integers');
    if (opts.min !== undefined && lo < opts.min) this.fail(key, `a pair with values >= ${opts.min}`);
    if (opts.max !== undefined && hi > opts.max) this.fail(key, `a pair with values <= ${opts.max}`);
    return [lo, hi];
  }

  numberArray(key: string, dflt: number[], length?: number): number[] {
    const v = this.params[key] ?? dflt;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) this.fail(key, 'an array of numbers');
    if (length !== undefined && v.length !== length) this.fail(key, `an array of ${length} numbers`);
    return v as number[];
  }
}

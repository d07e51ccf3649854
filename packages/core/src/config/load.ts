import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DetkitError, isDetkitError } from '../errors.js';
import { findNonFiniteNumber, jsonErrorOffset, lineColumn } from './json-position.js';
import { importWithTsFallback } from './ts-loader.js';
import { resolveConfigPaths, resolveOverridePaths } from './config-paths.js';
import { deepMerge, isPlainObject } from './merge.js';
import { checkOverrideRoots } from './override-roots.js';
import { applyOverrides, parseOverride, type ConfigOverride } from './overrides.js';
import type { DetkitConfig } from './schema.js';
import { validateConfig } from './validate.js';

export interface LoadConfigOptions {
  /** `key.path=value` strings (`--set`), applied after `extends` merging, before validation. */
  overrides?: readonly (string | ConfigOverride)[];
}

export interface LoadedConfig {
  config: DetkitConfig;
  /** Absolute path of the config file (`<config object>` for one given as an object). */
  file: string;
  /** Its directory: relative plugin paths were resolved against it (base files: their own dir). */
  dir: string;
  /** The files read, the given one first, then its bases. */
  chain: string[];
  /** The overrides applied, as parsed (`--set train.maxIters=1e3` has value 1000). */
  overrides: ConfigOverride[];
}

const JS_EXTS = new Set(['.js', '.mjs', '.cjs']);
const TS_EXTS = new Set(['.ts', '.mts', '.cts']);

/** Loads, merges (`extends`), overrides and validates a config file (JSON, JS or TS). */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const abs = resolve(file);
  const chain: string[] = [];
  const merged = await loadMerged(abs, chain);
  return finishLoad(merged, abs, dirname(abs), chain, options);
}

/**
 * A config given as an object (the API's `createRun({...})`): its relative paths and `extends`
 * resolve against `dir` (default: the working directory), then as `loadConfig`.
 */
export async function loadConfigObject(raw: Record<string, unknown>, options: LoadConfigOptions & { dir?: string } = {}): Promise<LoadedConfig> {
  if (!isPlainObject(raw)) throw new DetkitError('CONFIG_LOAD', `A config must be an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const dir = resolve(options.dir ?? process.cwd());
  const chain: string[] = [];
  const own = resolveConfigPaths(raw, dir);
  const base = own.extends;
  let merged = own;
  if (base !== undefined) {
    if (typeof base !== 'string' || base === '') throw new DetkitError('CONFIG_INVALID', `Invalid config:\n  extends: must be a path to a base config (got ${JSON.stringify(base)})`);
    const baseObj = await loadMerged(resolve(dir, base), chain);
    delete own.extends;
    delete baseObj.extends;
    merged = deepMerge(baseObj, own) as Record<string, unknown>;
  }
  return finishLoad(merged, '<config object>', dir, chain, options);
}

function finishLoad(merged: Record<string, unknown>, file: string, dir: string, chain: string[], options: LoadConfigOptions): LoadedConfig {
  const overrides = resolveOverridePaths((options.overrides ?? []).map((o) => (typeof o === 'string' ? parseOverride(o) : o)));
  checkOverrideRoots(merged, overrides, file);
  const withOverrides = overrides.length ? applyOverrides(merged, overrides) : merged;
  delete withOverrides.extends;
  const config = validateConfig(withOverrides, file);
  return { config, file, dir, chain, overrides };
}

/** The raw object of one file with its `extends` chain merged in; no validation. */
async function loadMerged(file: string, chain: string[]): Promise<Record<string, unknown>> {
  if (chain.includes(file)) {
    throw new DetkitError('CONFIG_LOAD', `Config ${chain[0]}: 'extends' cycle: ${[...chain, file].join(' -> ')}`, { file });
  }
  chain.push(file);
  const raw = await readConfigFile(file);
  const own = resolveConfigPaths(raw, dirname(file));
  const base = own.extends;
  if (base === undefined) return own;
  if (typeof base !== 'string' || base === '') {
    throw new DetkitError('CONFIG_INVALID', `Invalid config ${file}:\n  extends: must be a path to a base config (got ${JSON.stringify(base)})`, { file });
  }
  const baseObj = await loadMerged(resolve(dirname(file), base), chain);
  delete own.extends;
  delete baseObj.extends;
  return deepMerge(baseObj, own) as Record<string, unknown>;
}

/** Reads one file's exported object: JSON by parsing, JS/TS by dynamic import (default export). */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const ext = extname(file).toLowerCase();
  let value: unknown;
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new DetkitError('CONFIG_LOAD', `Cannot read config ${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new DetkitError('CONFIG_LOAD', `Config ${file} is not valid JSON: ${jsonErrorWhere(text, e as Error)}`, { file }, { cause: e });
    }
    const huge = findNonFiniteNumber(text);
    if (huge) {
      const { line, column } = lineColumn(text, huge.offset);
      throw new DetkitError('CONFIG_INVALID', `Invalid config ${file}:\n  line ${line}, column ${column}: the number ${huge.literal} does not fit a double (it would read as Infinity)`, { file });
    }
  } else if (JS_EXTS.has(ext) || TS_EXTS.has(ext)) {
    value = await importConfigModule(file);
  } else {
    throw new DetkitError('CONFIG_LOAD', `Config ${file}: unsupported extension '${ext}' (use .ts, .mts, .js, .mjs or .json)`, { file });
  }
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (!isPlainObject(value)) {
    throw new DetkitError('CONFIG_LOAD', `Config ${file} must ${ext === '.json' ? 'contain' : 'default-export'} an object, got ${Array.isArray(value) ? 'an array' : typeof value}`, { file });
  }
  return value;
}

async function importConfigModule(file: string): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = await importWithTsFallback(pathToFileURL(file).href, `Config ${file}`);
  } catch (e) {
    throw loadError(file, e);
  }
  const value = mod.default ?? mod.config;
  if (value === undefined) {
    throw new DetkitError('CONFIG_LOAD', `Config ${file} has no default export (write \`export default defineConfig({...})\`)`, { file });
  }
  return value;
}

function loadError(file: string, e: unknown): DetkitError {
  if (isDetkitError(e)) return e;
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return new DetkitError('CONFIG_LOAD', `Cannot load config ${file}: ${msg}`, { file }, { cause: e });
}

/** JSON.parse's message plus "line L, column C" of the first syntax error. */
function jsonErrorWhere(text: string, e: Error): string {
  const offset = jsonErrorOffset(text);
  if (offset < 0) return e.message;
  const { line, column } = lineColumn(text, offset);
  return `${e.message.split('\n')[0]} (line ${line}, column ${column})`;
}

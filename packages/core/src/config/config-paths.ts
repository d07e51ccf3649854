import { isAbsolute, resolve } from 'node:path';
import { isPlainObject } from './merge.js';
import type { ConfigOverride } from './overrides.js';

/**
 * Which config values are file-system paths, by key name (so a plugin's own sections follow the
 * same rule without registering anything): `workDir`, `resumeFrom`, `checkpoint`, `config`, and
 * every key ending in `File`, `Dir` or `Path` (`annFile`, `imageDir`, ...); and arrays of paths
 * under `paths` or keys ending in `Files`, `Dirs` or `Paths`.
 */
export function isPathKey(key: string): boolean {
  return key === 'workDir' || key === 'resumeFrom' || key === 'checkpoint' || key === 'config' || /[a-z](File|Dir|Path)$/.test(key);
}

export function isPathListKey(key: string): boolean {
  return key === 'paths' || /[a-z](Files|Dirs|Paths)$/.test(key);
}

/** Relative, and not a URL or a bare package name's place (`plugins` has its own rule). */
function isRelativePath(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !isAbsolute(value) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

/**
 * A config file's own relative paths made absolute against its folder, before `extends` merging
 * moves them into a config that lives elsewhere. Path keys at any depth (a dataset's `annFile`,
 * `distill.teacher.checkpoint`); plugin specs only when they start with `.` (else they are
 * package names). `extends` is resolved by the loader itself.
 */
export function resolveConfigPaths(raw: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out = resolveNested(raw, dir) as Record<string, unknown>;
  out.extends = raw.extends;
  if (raw.extends === undefined) delete out.extends;
  out.plugins = Array.isArray(raw.plugins) ? raw.plugins.map((p) => (typeof p === 'string' && p.startsWith('.') ? resolve(dir, p) : p)) : raw.plugins;
  if (raw.plugins === undefined) delete out.plugins;
  return out;
}

function resolveNested(value: unknown, dir: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveNested(v, dir));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isPathKey(k) && isRelativePath(v)) out[k] = resolve(dir, v);
    else if (isPathListKey(k) && Array.isArray(v)) out[k] = v.map((p) => (isRelativePath(p) ? resolve(dir, p) : p));
    else out[k] = resolveNested(v, dir);
  }
  return out;
}

/** `--set workDir=runs/a`: a path given on the command line is relative to the working directory. */
export function resolveOverridePaths(overrides: readonly ConfigOverride[], cwd = process.cwd()): ConfigOverride[] {
  return overrides.map((o) => {
    const key = o.path[o.path.length - 1]!;
    if (isPathKey(key) && isRelativePath(o.value)) return { ...o, value: resolve(cwd, o.value) };
    if (isPathListKey(key) && Array.isArray(o.value)) return { ...o, value: o.value.map((p) => (isRelativePath(p) ? resolve(cwd, p) : p)) };
    if (isPlainObject(o.value) || Array.isArray(o.value)) return { ...o, value: resolveNested(o.value, cwd) };
    return o;
  });
}

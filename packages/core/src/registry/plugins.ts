import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importWithTsFallback } from '../config/ts-loader.js';
import { DetkitError, isDetkitError } from '../errors.js';
import type { Registry } from './registry.js';
import type { DetkitPlugin } from './types.js';

/** The packages the CLI loads as plugins before a config's own, when they are installed. */
export const BUILTIN_PLUGINS = ['@detkit/datasets', '@detkit/detectors', '@detkit/hooks'] as const;

export interface LoadedPlugin {
  name: string;
  version: string;
  /** The spec as written in the config. */
  spec: string;
  /** The resolved module URL. */
  url: string;
}

export interface LoadPluginsOptions {
  /** Directory that relative paths and package names resolve from (the config file's dir). */
  baseDir: string;
  /** Plugins already loaded in this run: a module loaded twice registers once. */
  loaded?: LoadedPlugin[];
}

/**
 * Loads plugin modules in order and calls their `register`. A spec is a package name
 * (resolved from `baseDir`, as if imported by a file there) or a path (`./x.ts`, `/abs/x.js`,
 * relative to `baseDir`). Loading registers names and runs nothing else.
 */
export async function loadPlugins(registry: Registry, specs: readonly string[], options: LoadPluginsOptions): Promise<LoadedPlugin[]> {
  const loaded = options.loaded ?? [];
  for (const spec of specs) {
    const url = resolvePluginSpec(spec, options.baseDir);
    if (loaded.some((p) => p.url === url)) {
      registry.services.logger.debug(`plugin '${spec}' already loaded; skipped`);
      continue;
    }
    const mod = await importPlugin(spec, url);
    const plugin = pluginExport(mod, spec, url);
    loaded.push(await registerPlugin(registry, plugin, spec, url));
  }
  return loaded;
}

/**
 * Loads each builtin package that is installed and exports a plugin (none when the env var
 * DETKIT_NO_BUILTINS=1); a package that is
 * missing, or has no plugin export yet, is skipped with a debug line (never an error).
 */
export async function loadBuiltinPlugins(registry: Registry, options: LoadPluginsOptions): Promise<LoadedPlugin[]> {
  const loaded = options.loaded ?? [];
  const log = registry.services.logger;
  // DETKIT_NO_BUILTINS=1 isolates a config's own plugins (debugging a plugin, or tests).
  if (process.env.DETKIT_NO_BUILTINS === '1') {
    log.debug('DETKIT_NO_BUILTINS=1: builtin plugins not loaded');
    return loaded;
  }
  for (const spec of BUILTIN_PLUGINS) {
    let url: string;
    try {
      url = resolvePluginSpec(spec, options.baseDir);
    } catch (e) {
      log.debug(`builtin plugin '${spec}' not installed; skipped (${messageOf(e)})`);
      continue;
    }
    if (loaded.some((p) => p.url === url)) continue;
    const mod = await importPlugin(spec, url);
    const candidate = (mod as Record<string, unknown>).default ?? (mod as Record<string, unknown>).plugin;
    if (!isPluginShaped(candidate)) {
      log.debug(`builtin package '${spec}' has no plugin export yet; skipped`);
      continue;
    }
    loaded.push(await registerPlugin(registry, candidate, spec, url));
  }
  return loaded;
}

/** Spec -> module URL. Paths resolve against baseDir; package names resolve from baseDir's node_modules. */
export function resolvePluginSpec(spec: string, baseDir: string): string {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new DetkitError('PLUGIN_LOAD', `Plugin spec must be a non-empty string, got ${JSON.stringify(spec)}`);
  }
  if (spec.startsWith('file:')) return spec;
  if (spec.startsWith('.') || isAbsolute(spec)) return pathToFileURL(resolvePath(baseDir, spec)).href;
  try {
    // createRequire honours `exports` and the --conditions flags (e.g. `source` in tests).
    const req = createRequire(join(baseDir, '__detkit_resolve__.js'));
    return pathToFileURL(req.resolve(spec)).href;
  } catch (e) {
    // An ESM-only package (exports with `import` but no `default`) cannot be require-resolved:
    // fall back to ESM resolution, from core's own location.
    try {
      return import.meta.resolve(spec);
    } catch {
      throw new DetkitError('PLUGIN_LOAD', `Plugin '${spec}': cannot resolve it from ${baseDir}: ${messageOf(e)}`, { spec }, { cause: e });
    }
  }
}

async function importPlugin(spec: string, url: string): Promise<unknown> {
  try {
    return await importWithTsFallback(url, `Plugin '${spec}'`);
  } catch (e) {
    if (isDetkitError(e)) throw e;
    throw new DetkitError('PLUGIN_LOAD', `Plugin '${spec}' failed to load (${url}): ${messageOf(e)}`, { spec, url }, { cause: e });
  }
}

function isPluginShaped(v: unknown): v is DetkitPlugin {
  if (v === null || typeof v !== 'object') return false;
  const p = v as Partial<DetkitPlugin>;
  return typeof p.name === 'string' && p.name !== '' && typeof p.version === 'string' && typeof p.register === 'function';
}

/** The module's `default` or `plugin` export, validated; PLUGIN_INVALID says what is missing. */
export function pluginExport(mod: unknown, spec: string, url: string): DetkitPlugin {
  const m = mod as Record<string, unknown>;
  const candidate = m.default !== undefined ? m.default : m.plugin;
  const where = `Plugin '${spec}' (${url})`;
  if (candidate === undefined) {
    throw new DetkitError('PLUGIN_INVALID', `${where} has neither a default export nor a 'plugin' export; export { name, version, register(ctx) }`, { spec });
  }
  if (candidate === null || typeof candidate !== 'object') {
    throw new DetkitError('PLUGIN_INVALID', `${where}: its export is a ${candidate === null ? 'null' : typeof candidate}, expected an object { name, version, register(ctx) }`, { spec });
  }
  const p = candidate as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p.name !== 'string' || p.name === '') problems.push(`'name' must be a non-empty string (got ${JSON.stringify(p.name)})`);
  if (typeof p.version !== 'string') problems.push(`'version' must be a string (got ${JSON.stringify(p.version)})`);
  if (typeof p.register !== 'function') problems.push(`'register' must be a function (got ${typeof p.register})`);
  if (problems.length > 0) {
    throw new DetkitError('PLUGIN_INVALID', `${where} is not a valid plugin: ${problems.join('; ')}`, { spec, problems });
  }
  return candidate as DetkitPlugin;
}

async function registerPlugin(registry: Registry, plugin: DetkitPlugin, spec: string, url: string): Promise<LoadedPlugin> {
  try {
    await plugin.register(registry.pluginContext(plugin.name));
  } catch (e) {
    // Registry errors (duplicates, bad names) already say what and who; keep their code.
    if (isDetkitError(e)) throw e;
    throw new DetkitError('PLUGIN_LOAD', `Plugin '${plugin.name}' (${spec}) failed in register(): ${messageOf(e)}`, { spec, url }, { cause: e });
  }
  registry.services.logger.debug(`plugin '${plugin.name}'@${plugin.version} loaded from ${url}`);
  return { name: plugin.name, version: plugin.version, spec, url };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

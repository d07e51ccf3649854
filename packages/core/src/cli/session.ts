import { dirname, resolve } from 'node:path';
import { loadConfig, loadConfigObject, type LoadedConfig } from '../config/load.js';
import type { ConfigOverride } from '../config/overrides.js';
import { loadBuiltinPlugins, loadPlugins, type LoadedPlugin } from '../registry/plugins.js';
import { createRegistry, type Registry } from '../registry/registry.js';
import { createServices, type RunServices } from '../registry/services.js';
import type { Logger } from '../registry/types.js';
import { createConsoleLogger } from '../util/logger.js';
import { createRng } from '../util/rng.js';
import { requireExport } from './optional.js';

/** Options every subcommand accepts (commander's global options). */
export interface GlobalOptions {
  set?: string[];
  backend?: string;
  seed?: string;
  workDir?: string;
  workers?: string;
}

/** `--set` plus the dedicated flags, which win over `--set` (they come last). */
export function overridesFrom(opts: GlobalOptions): string[] {
  const out = [...(opts.set ?? [])];
  if (opts.seed !== undefined) out.push(`seed=${opts.seed}`);
  if (opts.workDir !== undefined) out.push(`workDir=${JSON.stringify(opts.workDir)}`);
  if (opts.backend !== undefined) out.push(`backend=${JSON.stringify(opts.backend)}`);
  // Parsed as JSON like any --set value, so '1.5' or 'two' reach validation and fail naming train.workers.
  if (opts.workers !== undefined) out.push(`train.workers=${opts.workers}`);
  return out;
}

export interface Session {
  loaded: LoadedConfig;
  registry: Registry;
  run: RunServices;
  plugins: LoadedPlugin[];
  logger: Logger;
}

export interface OpenSessionOptions {
  /** Select the tfjs backend (everything but `list` needs one). Default true. */
  backend?: boolean;
  /** Extra overrides applied before the global ones. */
  overrides?: readonly (string | ConfigOverride)[];
  /** Where messages go (default: the console logger, level from DETKIT_LOG_LEVEL). */
  logger?: Logger;
}

/**
 * Config (a file, or an object whose relative paths are relative to the working directory) ->
 * backend -> services + registry -> builtin plugins, then the config's plugins.
 */
export async function openSession(configOrPath: string | Record<string, unknown>, opts: GlobalOptions, options: OpenSessionOptions = {}): Promise<Session> {
  const logger = options.logger ?? createConsoleLogger();
  const overrides = [...(options.overrides ?? []), ...overridesFrom(opts)];
  const loaded = typeof configOrPath === 'string' ? await loadConfig(configOrPath, { overrides }) : await loadConfigObject(configOrPath, { overrides });
  const { config } = loaded;
  let backend = 'none';
  if (options.backend ?? true) {
    const selectBackend = await requireExport<(o: { backend?: string; logger?: Logger }) => Promise<{ name: string }>>(
      '../backend/index.js',
      'selectBackend',
      'Backend selection (packages/core/src/backend)',
    );
    backend = (await selectBackend({ backend: config.backend, logger })).name;
  }
  const run = createServices({ logger, rng: createRng(config.seed), backend });
  const registry = createRegistry(run.services);
  const plugins = await loadAllPlugins(registry, config.plugins, loaded.dir);
  return { loaded, registry, run, plugins, logger };
}

/** Builtins (resolved from the working directory, then core's own location), then `specs` from `baseDir`. */
export async function loadAllPlugins(registry: Registry, specs: readonly string[], baseDir: string): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  await loadBuiltinPlugins(registry, { baseDir: process.cwd(), loaded });
  await loadPlugins(registry, specs, { baseDir, loaded });
  return loaded;
}

export function configDir(file: string): string {
  return dirname(resolve(file));
}

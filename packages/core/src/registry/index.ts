export * from './types.js';
export { Registry, createRegistry, DIRECT_REGISTRANT, SERVICE_TOKENS, type RegistryEntry } from './registry.js';
export { createServices, type RunServices, type CreateServicesOptions } from './services.js';
export {
  loadPlugins,
  loadBuiltinPlugins,
  resolvePluginSpec,
  pluginExport,
  BUILTIN_PLUGINS,
  type LoadedPlugin,
  type LoadPluginsOptions,
} from './plugins.js';
export { levenshtein, suggest } from './suggest.js';
export { SeededRng, createRng, splitmix32, hashString } from '../util/rng.js';
export { createConsoleLogger, silentLogger, parseLogLevel, LOG_LEVELS, type LogLevel, type ConsoleLogger } from '../util/logger.js';

import { Container } from 'inversify';
import { DetkitError } from '../errors.js';
import { suggest } from './suggest.js';
import type {
  BuildContext,
  Factory,
  PluginContext,
  RegisterOptions,
  RegistryKind,
  Services,
  TypedConfig,
} from './types.js';
import { BUILTIN_KINDS } from './types.js';
import { formatValue } from '../util/format-value.js';

/** Who registered names outside any plugin (user code, tests). */
export const DIRECT_REGISTRANT = '<direct>';

/** One registered name, as `list()` and `detkit list` show it. */
export interface RegistryEntry {
  kind: string;
  name: string;
  /** Name of the plugin that registered it (DIRECT_REGISTRANT when not through a plugin). */
  plugin: string;
  description?: string;
  /** Plugins whose entries this one replaced with `override: true`, oldest first. */
  overrides?: string[];
}

/** Container tokens for the services; factories receive them through BuildContext. */
export const SERVICE_TOKENS = {
  logger: Symbol.for('detkit.service.logger'),
  rng: Symbol.for('detkit.service.rng'),
  backend: Symbol.for('detkit.service.backend'),
  events$: Symbol.for('detkit.service.events$'),
  services: Symbol.for('detkit.services'),
  buildContext: Symbol.for('detkit.buildContext'),
} as const;

const factoryToken = (kind: string, name: string) => `detkit.factory:${kind}:${name}`;

/**
 * The registry of one run, over one inversify Container. Factories are bound as constant
 * values under `detkit.factory:<kind>:<name>`; core keeps its own name map for listing,
 * collisions and suggestions, because inversify's listing API changes between majors and
 * plugin authors must never depend on it.
 */
export class Registry {
  readonly services: Services;
  private readonly container = new Container();
  private readonly entries = new Map<string, Map<string, RegistryEntry>>();

  constructor(services: Services) {
    this.services = services;
    this.container.bind(SERVICE_TOKENS.logger).toConstantValue(services.logger);
    this.container.bind(SERVICE_TOKENS.rng).toConstantValue(services.rng);
    this.container.bind(SERVICE_TOKENS.backend).toConstantValue(services.backend);
    this.container.bind(SERVICE_TOKENS.events$).toConstantValue(services.events$);
    // Assembled from the individual bindings, so a test may rebind one service.
    this.container.bind(SERVICE_TOKENS.services).toDynamicValue((ctx) => ({
      logger: ctx.container.get(SERVICE_TOKENS.logger),
      rng: ctx.container.get(SERVICE_TOKENS.rng),
      backend: ctx.container.get(SERVICE_TOKENS.backend),
      events$: ctx.container.get(SERVICE_TOKENS.events$),
    }));
    this.container.bind(SERVICE_TOKENS.buildContext).toDynamicValue((ctx) => ({
      build: <T>(kind: RegistryKind, config: TypedConfig) => this.build<T>(kind, config),
      services: ctx.container.get<Services>(SERVICE_TOKENS.services),
    }));
    for (const kind of BUILTIN_KINDS) this.entries.set(kind, new Map());
  }

  /**
   * Registers `factory` as `name` under `kind` (a new kind is created on first use). Fails
   * with REGISTRY_DUPLICATE naming both registrants unless `options.override`.
   */
  register<T>(
    kind: RegistryKind,
    name: string,
    factory: Factory<T>,
    options: RegisterOptions = {},
    plugin: string = DIRECT_REGISTRANT,
  ): void {
    if (typeof kind !== 'string' || !/^[a-z0-9][\w./-]*$/i.test(kind)) {
      throw new DetkitError('INVALID_ARGUMENT', `Plugin '${plugin}': registry kind ${JSON.stringify(kind)} is not a valid kind name`);
    }
    if (typeof name !== 'string' || !/^[a-z0-9@][\w.@-]*(\/[\w.-]+)*$/i.test(name)) {
      throw new DetkitError(
        'INVALID_ARGUMENT',
        `Plugin '${plugin}': ${kind} name ${JSON.stringify(name)} is not valid (letters, digits, '-', '_', '.', optional 'scope/' prefix)`,
      );
    }
    if (typeof factory !== 'function') {
      throw new DetkitError('INVALID_ARGUMENT', `Plugin '${plugin}': ${kind} '${name}' needs a factory function, got ${typeof factory}`);
    }
    const byName = this.kindMap(kind);
    const existing = byName.get(name);
    const token = factoryToken(kind, name);
    const entry: RegistryEntry = { kind, name, plugin, description: options.description };
    if (existing) {
      if (!options.override) {
        throw new DetkitError(
          'REGISTRY_DUPLICATE',
          `${kind} '${name}' is already registered by plugin '${existing.plugin}'; plugin '${plugin}' tried to register it again ` +
            `(pass { override: true } to replace it on purpose)`,
          { kind, name, first: existing.plugin, second: plugin },
        );
      }
      entry.overrides = [...(existing.overrides ?? []), existing.plugin];
      this.container.rebind(token).toConstantValue(factory);
      this.services.logger.debug(`registry: ${kind} '${name}' of plugin '${existing.plugin}' overridden by '${plugin}'`);
    } else {
      this.container.bind(token).toConstantValue(factory);
    }
    byName.set(name, entry);
  }

  has(kind: RegistryKind, name: string): boolean {
    return this.entries.get(kind)?.has(name) ?? false;
  }

  /** All kinds, builtin ones first, then plugin kinds in registration order. */
  kinds(): string[] {
    return [...this.entries.keys()];
  }

  names(kind: RegistryKind): string[] {
    return [...(this.entries.get(kind)?.keys() ?? [])].sort();
  }

  entry(kind: RegistryKind, name: string): RegistryEntry | undefined {
    return this.entries.get(kind)?.get(name);
  }

  /** Per kind, its entries sorted by name (kinds with no entries included, as empty lists). */
  list(): Record<string, RegistryEntry[]> {
    const out: Record<string, RegistryEntry[]> = {};
    for (const [kind, byName] of this.entries) {
      out[kind] = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => ({ ...e }));
    }
    return out;
  }

  /**
   * Builds `{ type, ...params }` of `kind`: the factory receives the params without `type`
   * and a BuildContext (nested builds + services). Unknown names fail with REGISTRY_UNKNOWN
   * listing the known names of that kind and the closest one.
   */
  async build<T = unknown>(kind: RegistryKind, config: TypedConfig): Promise<T> {
    if (config === null || typeof config !== 'object' || typeof config.type !== 'string') {
      throw new DetkitError(
        'CONFIG_INVALID',
        `A ${kind} config needs a string 'type' naming a registered ${kind}; got ${preview(config)}`,
        { kind },
      );
    }
    const { type, ...params } = config;
    const byName = this.entries.get(kind);
    if (!byName?.has(type)) throw this.unknown(kind, type);
    const factory = this.container.get<Factory<T>>(factoryToken(kind, type));
    const ctx = this.container.get<BuildContext>(SERVICE_TOKENS.buildContext);
    return await factory(params, ctx);
  }

  /** The BuildContext factories receive (for building outside a factory, e.g. in tests). */
  buildContext(): BuildContext {
    return this.container.get<BuildContext>(SERVICE_TOKENS.buildContext);
  }

  /** The context handed to one plugin's `register`: registrations are recorded under its name. */
  pluginContext(pluginName: string): PluginContext {
    return {
      register: (kind, name, factory, options) => this.register(kind, name, factory, options, pluginName),
      services: this.services,
    };
  }

  private kindMap(kind: string): Map<string, RegistryEntry> {
    let m = this.entries.get(kind);
    if (!m) {
      m = new Map();
      this.entries.set(kind, m);
    }
    return m;
  }

  private unknown(kind: string, type: string): DetkitError {
    const byName = this.entries.get(kind);
    if (!byName || byName.size === 0) {
      const kinds = this.kinds().filter((k) => (this.entries.get(k)?.size ?? 0) > 0);
      const hint = suggest(kind, this.kinds());
      return new DetkitError(
        'REGISTRY_UNKNOWN',
        `No ${kind} named '${type}': nothing is registered under kind '${kind}'` +
          (hint && hint !== kind ? ` (did you mean kind '${hint}'?)` : '') +
          `. Kinds with entries: ${kinds.join(', ') || '(none: are the plugins loaded?)'}`,
        { kind, name: type, known: [] },
      );
    }
    const known = [...byName.keys()].sort();
    const hint = suggest(type, known);
    return new DetkitError(
      'REGISTRY_UNKNOWN',
      `Unknown ${kind} '${type}'.` + (hint ? ` Did you mean '${hint}'?` : '') + ` Known ${kind} names: ${known.join(', ')}`,
      { kind, name: type, known, suggestion: hint },
    );
  }
}

/** A registry for one run, with its services bound in the container. */
export function createRegistry(services: Services): Registry {
  return new Registry(services);
}

function preview(v: unknown): string {
  return formatValue(v, 80);
}

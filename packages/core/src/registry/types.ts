import type { Observable } from 'rxjs';
import type { RunnerEvent } from '../runner/events.js';

/** The kinds of things a config can pick by name. Plugins may add their own kinds. */
export const BUILTIN_KINDS = [
  'detector',
  'backbone',
  'dataset',
  'transform',
  'hook',
  'loss',
  'evaluator',
  'sampler',
] as const;
export type BuiltinKind = (typeof BUILTIN_KINDS)[number];
export type RegistryKind = BuiltinKind | (string & {});

/** A config fragment that names a registered entry: `{ type: 'dab-detr', ...params }`. */
export interface TypedConfig {
  type: string;
  [key: string]: unknown;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** A seeded random source; `fork(label)` gives an independent, reproducible stream. */
export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  normal(): number;
  fork(label: string): Rng;
}

/** Services available to every factory through the DI container. */
export interface Services {
  logger: Logger;
  rng: Rng;
  /** Name of the tfjs backend in use. */
  backend: string;
  /** Events of the current run (empty until a runner starts). */
  events$: Observable<RunnerEvent>;
}

/** What a factory receives besides its params: the registry (for nested builds) and services. */
export interface BuildContext {
  build<T = unknown>(kind: RegistryKind, config: TypedConfig): Promise<T>;
  services: Services;
}

export type Factory<T = unknown> = (params: Record<string, unknown>, ctx: BuildContext) => T | Promise<T>;

export interface RegisterOptions {
  /** Replace an existing entry of the same name instead of failing. */
  override?: boolean;
  /** One line shown by `detkit list`. */
  description?: string;
}

/** What a plugin's `register` receives. Plugin authors use this, never inversify directly. */
export interface PluginContext {
  register<T>(kind: RegistryKind, name: string, factory: Factory<T>, options?: RegisterOptions): void;
  readonly services: Services;
}

/** A plugin module's default export (or named `plugin` export). */
export interface DetkitPlugin {
  name: string;
  version: string;
  register(ctx: PluginContext): void | Promise<void>;
}

import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DetkitError } from '../errors.js';
import type { LoadedPlugin } from '../registry/plugins.js';
import type { Registry } from '../registry/registry.js';

/** Every `type` named in a config fragment (the model, its backbone, ...), depth first. */
export function typesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => typesIn(v, out));
  else if (typeof value === 'object' && value !== null) {
    const type = (value as { type?: unknown }).type;
    if (typeof type === 'string' && !out.includes(type)) out.push(type);
    Object.values(value).forEach((v) => typesIn(v, out));
  }
  return out;
}

/**
 * The modules the page must register: the plugins that registered a name the model config or the
 * transforms use. A package plugin's './browser' subpath is preferred when it has one (a
 * browser-safe part, as @detkit/datasets has); otherwise its own module is bundled.
 */
export function pagePluginModules(registry: Registry, loaded: readonly LoadedPlugin[], fragments: readonly unknown[]): string[] {
  const names = new Set<string>();
  for (const type of fragments.flatMap((f) => typesIn(f))) {
    for (const kind of registry.kinds()) {
      const entry = registry.entry(kind, type);
      if (entry) names.add(entry.plugin);
    }
  }
  return [...names].map((name) => {
    const plugin = loaded.find((p) => p.name === name);
    if (!plugin) throw new DetkitError('PLUGIN_INVALID', `'${name}' registered a name the model uses but is not a loaded plugin module; the web page can only include plugins loaded from a module`, { plugin: name });
    return browserModuleOf(plugin);
  });
}

function browserModuleOf(plugin: LoadedPlugin): string {
  const file = fileURLToPath(plugin.url);
  const isPackage = !plugin.spec.startsWith('.') && !isAbsolute(plugin.spec) && !plugin.spec.startsWith('file:');
  if (isPackage) {
    try {
      // A package resolves its own name from inside (self-reference through `exports`).
      return createRequire(file).resolve(`${plugin.spec}/browser`);
    } catch {
      // No browser part: the plugin's module itself must then be browser-safe.
    }
  }
  return file;
}

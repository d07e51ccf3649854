import { resolve } from 'node:path';
import { readConfigFile } from '../../config/load.js';
import { DetkitError } from '../../errors.js';
import type { RegistryEntry } from '../../registry/registry.js';
import { createRegistry } from '../../registry/registry.js';
import { createServices } from '../../registry/services.js';
import { suggest } from '../../registry/suggest.js';
import { createConsoleLogger } from '../../util/logger.js';
import { EXIT } from '../exit-codes.js';
import { configDir, loadAllPlugins } from '../session.js';

export interface ListCommandOptions {
  config?: string;
  plugin?: string[];
  json?: boolean;
}

/**
 * `detkit list [kind]`: every registered name per kind with the plugin that registered it.
 * Loads the builtin plugins, plus a config's plugins (`--config`) and `--plugin` specs.
 */
export async function listCommand(kind: string | undefined, opts: ListCommandOptions): Promise<number> {
  const logger = createConsoleLogger();
  const registry = createRegistry(createServices({ logger, backend: 'none' }).services);
  const specs: string[] = [];
  let baseDir = process.cwd();
  if (opts.config) {
    // Only the plugin list matters here: no validation of the rest, so `list` helps fix a broken config.
    const raw = await readConfigFile(resolve(opts.config));
    baseDir = configDir(opts.config);
    if (Array.isArray(raw.plugins)) specs.push(...raw.plugins.filter((p): p is string => typeof p === 'string'));
  }
  const loaded = await loadAllPlugins(registry, specs, baseDir);
  if (opts.plugin?.length) {
    const { loadPlugins } = await import('../../registry/plugins.js');
    await loadPlugins(registry, opts.plugin, { baseDir: process.cwd(), loaded });
  }
  const all = registry.list();
  if (kind !== undefined && !(kind in all)) {
    const hint = suggest(kind, Object.keys(all));
    throw new DetkitError('REGISTRY_UNKNOWN', `No kind '${kind}'.${hint ? ` Did you mean '${hint}'?` : ''} Kinds: ${Object.keys(all).join(', ')}`, { kind });
  }
  const shown = kind !== undefined ? { [kind]: all[kind]! } : all;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ plugins: loaded.map(({ name, version, spec }) => ({ name, version, spec })), kinds: shown }, null, 2) + '\n');
    return EXIT.ok;
  }
  process.stdout.write(formatList(shown, loaded.map((p) => `${p.name}@${p.version}`)));
  return EXIT.ok;
}

export function formatList(kinds: Record<string, RegistryEntry[]>, plugins: string[]): string {
  const lines: string[] = [`plugins: ${plugins.length ? plugins.join(', ') : '(none loaded)'}`];
  const empty: string[] = [];
  for (const [kind, entries] of Object.entries(kinds)) {
    if (entries.length === 0) {
      empty.push(kind);
      continue;
    }
    lines.push('', `${kind} (${entries.length})`);
    const nameW = Math.max(...entries.map((e) => e.name.length));
    const plugW = Math.max(...entries.map((e) => e.plugin.length));
    for (const e of entries) {
      const over = e.overrides?.length ? ` [overrides ${e.overrides.join(', ')}]` : '';
      lines.push(`  ${e.name.padEnd(nameW)}  ${e.plugin.padEnd(plugW)}  ${e.description ?? ''}${over}`.trimEnd());
    }
  }
  if (empty.length) lines.push('', `no entries: ${empty.join(', ')}`);
  return lines.join('\n') + '\n';
}

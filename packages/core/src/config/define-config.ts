import type { DetkitConfigInput } from './schema.js';

/** Identity: gives a config file editor types and completion. `export default defineConfig({...})`. */
export function defineConfig<const T extends DetkitConfigInput>(config: T): T {
  return config;
}

import type { CheckedConfig } from './registered-params.js';
import type { DetkitConfigInput } from './schema.js';

/**
 * Identity: gives a config file types, completion and a type check. `export default
 * defineConfig({...})`. The core sections are exact (`train: { maxIter: 3 }` fails `tsc`), and
 * so are the params of detectors, datasets and hooks whose packages declare them (see
 * `DetectorParams`).
 */
export function defineConfig<const T extends DetkitConfigInput>(config: CheckedConfig<T>): T {
  return config;
}

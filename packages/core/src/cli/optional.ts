import { DetkitError } from '../errors.js';

/**
 * Imports a part that may not be built yet (another package, or a core module written in
 * parallel) and returns the named export, or fails with NOT_IMPLEMENTED saying what is missing.
 * Only "module not found" and "export missing" become NOT_IMPLEMENTED; real load errors propagate.
 */
export async function requireExport<T>(specifier: string, exportName: string, feature: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new DetkitError('NOT_IMPLEMENTED', `${feature} is not available yet: ${specifier} is not installed/built`, { specifier });
    }
    throw e;
  }
  const value = mod[exportName];
  if (value === undefined) {
    throw new DetkitError('NOT_IMPLEMENTED', `${feature} is not available yet: ${specifier} does not export '${exportName}'`, { specifier, exportName });
  }
  return value as T;
}

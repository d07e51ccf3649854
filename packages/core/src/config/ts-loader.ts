import { DetkitError } from '../errors.js';

let registered = false;

/**
 * Imports `url`; when plain `node` refuses a .ts file (ERR_UNKNOWN_FILE_EXTENSION), registers
 * tsx's ESM loader (optional at run time: a devDependency of the repo) and imports again, or
 * says clearly what to do. Under `node --import tsx` (tests, dev) the first import just works.
 */
export async function importWithTsFallback(url: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[cm]?ts$/i.test(new URL(url).pathname)) throw e;
    await registerTsLoader(what);
    // Node caches the failed import of this URL: a query makes it a new module.
    return (await import(`${url}${url.includes('?') ? '&' : '?'}ts-loader`)) as Record<string, unknown>;
  }
}

async function registerTsLoader(what: string): Promise<void> {
  if (registered) return;
  try {
    const api = (await import('tsx/esm/api' as string)) as { register: () => unknown };
    api.register();
    registered = true;
  } catch (e) {
    throw new DetkitError(
      'CONFIG_LOAD',
      `${what} is TypeScript but no TypeScript loader is available (${(e as Error).message.split('\n')[0]}). ` +
        'Install tsx (npm i -D tsx) or run with `node --import tsx`, or use .js/.mjs/.json',
      { what },
      { cause: e },
    );
  }
}

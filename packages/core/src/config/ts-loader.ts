import { register } from 'node:module';
import { DetkitError } from '../errors.js';

/** The query that marks a TypeScript file as part of a config's (or plugin's) own import graph. */
const MARK = 'detkit-ts-esm=1';

/**
 * A loader hook (run in Node's hooks thread) that makes every `.ts`/`.mts` file reached from a
 * marked one load as an ES module too, whatever its folder's package.json says. Without it a
 * config in a folder without `"type": "module"` is compiled to CommonJS, and its
 * `import ... from '@detkit/core'` then loads a second copy of core and tfjs (CommonJS
 * builds), or fails outright. Only relative imports carry the mark: a package (bare specifier,
 * even a workspace symlink outside node_modules) keeps its own format and its one copy.
 */
const ESM_MARK_HOOK = `
const MARK = ${JSON.stringify(MARK)};
const isOwnTs = (url) => url.startsWith('file:') && /\\.m?ts($|\\?)/.test(url) && !url.includes('/node_modules/');
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const relative = /^(\\.{1,2}\\/|\\/|file:)/.test(specifier);
  const marked = r.url.includes(MARK) || (relative && (context.parentURL ?? '').includes(MARK));
  if (!marked || !isOwnTs(r.url)) return r;
  const url = r.url.includes(MARK) ? r.url : r.url + (r.url.includes('?') ? '&' : '?') + MARK;
  return { ...r, url, format: 'module' };
}`;

let hooksInstalled = false;

/**
 * Imports a config or plugin module. TypeScript files go through tsx's loader (a dependency of
 * core), registered once, and always load as ES modules (see ESM_MARK_HOOK), so a `.ts` config
 * works in any folder. Under `node --import tsx` (tests, dev) tsx is already registered.
 */
export async function importWithTsFallback(url: string, what: string): Promise<Record<string, unknown>> {
  if (!/\.[cm]?ts$/i.test(new URL(url).pathname)) return (await import(url)) as Record<string, unknown>;
  await installTsHooks(what);
  const marked = `${url}${url.includes('?') ? '&' : '?'}${MARK}`;
  return (await import(marked)) as Record<string, unknown>;
}

async function installTsHooks(what: string): Promise<void> {
  if (hooksInstalled) return;
  if (!tsxAlreadyRegistered()) {
    try {
      const api = (await import('tsx/esm/api' as string)) as { register: () => unknown };
      api.register();
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
  // Registered after tsx, so it runs first and hands tsx the format to compile to.
  register(`data:text/javascript,${encodeURIComponent(ESM_MARK_HOOK)}`);
  hooksInstalled = true;
}

/** `node --import tsx` / `NODE_OPTIONS=--import tsx`: registering tsx twice would compile twice. */
function tsxAlreadyRegistered(): boolean {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return /(--import|--loader|--require|-r)[= ]\S*tsx/.test(flags);
}

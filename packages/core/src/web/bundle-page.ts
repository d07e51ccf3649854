import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { DetkitError } from '../errors.js';

/** Core's package root (this file is src/web/ or dist/web/, two levels down). */
const CORE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The page and core's browser entry are bundled from source (shipped in `files`), whichever build runs. */
const PAGE_MODULE = `${CORE_ROOT}src/web/page/page.ts`;
export const CORE_BROWSER_ENTRY = `${CORE_ROOT}src/browser.ts`;

export interface BundlePageOptions {
  /** Absolute paths of modules whose default (or `plugin`) export the page registers, in order. */
  plugins: readonly string[];
  /** Extra side-effect imports, e.g. '@tensorflow/tfjs-backend-webgpu' when it is installed. */
  extraImports?: readonly string[];
}

export interface BundleResult {
  code: Uint8Array;
  /** Every file in the bundle and what each imports (esbuild's metafile; paths relative to the working directory). */
  metafile: esbuild.Metafile;
}

/**
 * Every `@detkit/core` import in the bundle (plugins import the package name) becomes core's
 * browser entry: one copy of core, and only its browser-safe part.
 */
const coreBrowserAlias: esbuild.Plugin = {
  name: 'detkit-core-browser',
  setup(build) {
    build.onResolve({ filter: /^@detkit\/core$/ }, () => ({ path: CORE_BROWSER_ENTRY }));
  },
};

/** esbuild's common options for browser bundles of detkit modules (the page, and the entry test). */
export function browserBuildOptions(): esbuild.BuildOptions {
  return {
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // detkit packages export their TypeScript sources under 'source'.
    conditions: ['source'],
    plugins: [coreBrowserAlias],
    write: false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  };
}

/** The page bundle: page module + plugins + tfjs backends, minified, one ES module. */
export async function bundlePage(options: BundlePageOptions): Promise<BundleResult> {
  const lines = [`import { startDetkitPage } from ${JSON.stringify(PAGE_MODULE)};`];
  for (const spec of options.extraImports ?? []) lines.push(`import ${JSON.stringify(spec)};`);
  options.plugins.forEach((file, i) => lines.push(`import * as plugin${i} from ${JSON.stringify(file)};`));
  lines.push(`startDetkitPage([${options.plugins.map((_, i) => `plugin${i}`).join(', ')}]);`);
  return bundleBrowser({ stdin: { contents: lines.join('\n'), resolveDir: CORE_ROOT, sourcefile: 'detkit-page-entry.js', loader: 'js' }, minify: true });
}

/**
 * Runs esbuild for the browser. A Node built-in reached from the bundle fails with
 * PLUGIN_INVALID naming the module that imports it; any other esbuild error with PLUGIN_LOAD.
 */
export async function bundleBrowser(extra: esbuild.BuildOptions): Promise<BundleResult> {
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = (await esbuild.build({ ...browserBuildOptions(), ...extra })) as esbuild.BuildResult<{ write: false; metafile: true }>;
  } catch (e) {
    throw bundleError(e);
  }
  return { code: result.outputFiles[0]!.contents, metafile: result.metafile };
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function bundleError(e: unknown): DetkitError {
  const errors = (e as { errors?: esbuild.Message[] }).errors;
  if (!errors?.length) return new DetkitError('PLUGIN_LOAD', `bundling the web page failed: ${(e as Error).message}`, {}, { cause: e });
  const where = (m: esbuild.Message) => (m.location ? `${m.location.file}:${m.location.line}` : '(bundle)');
  for (const m of errors) {
    const missing = /Could not resolve "([^"]+)"/.exec(m.text)?.[1];
    if (missing && (NODE_BUILTINS.has(missing) || missing.startsWith('node:'))) {
      return new DetkitError(
        'PLUGIN_INVALID',
        `the web page cannot include ${where(m)}: it imports the Node built-in '${missing}'. ` +
          `A plugin used in a browser needs a browser-safe module (no Node built-ins), e.g. a './browser' subpath export`,
        { file: m.location?.file, builtin: missing },
      );
    }
  }
  const list = errors.slice(0, 5).map((m) => `${where(m)}: ${m.text}`);
  return new DetkitError('PLUGIN_LOAD', `bundling the web page failed:\n  ${list.join('\n  ')}`, { errors: list }, { cause: e });
}

/**
 * The params of registered names, for type-checking configs: `model: { type: 'dab-detr', ... }`
 * is checked against `DetectorParams['dab-detr']` (a misspelt key fails `tsc`). Empty here;
 * each package adds its names by declaration merging, and so can a third-party plugin:
 *
 *   declare module '@detkit/core' {
 *     interface DetectorParams { 'my-detector': { numClasses: number; width?: number } }
 *   }
 *
 * A name nobody declared is not checked (any params), so configs never fail for lack of types.
 * The declarations apply where the declaring package's types are loaded: a config brings them in
 * with `import type {} from '@detkit/detectors'`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface DetectorParams {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface DatasetParams {}
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface HookParams {}

/**
 * A `{ type, ...params }` fragment checked against its declared params: unknown keys become
 * `never` (so a typo is an error at that key) and known keys keep their types.
 */
export type ExactFragment<F, Params> = F extends { type: infer K }
  ? K extends keyof Params
    ? { type: K } & Params[K] & { [P in Exclude<keyof F, keyof Params[K] | 'type'>]: never }
    : F
  : F;

type ExactList<L, Params> = L extends readonly unknown[] ? { [I in keyof L]: ExactFragment<L[I], Params> } : L;

/** What `defineConfig` checks beyond the core sections' own exact types. */
export type CheckedConfig<T> = T & {
  [K in keyof T]: K extends 'model'
    ? ExactFragment<T[K], DetectorParams>
    : K extends 'data'
      ? { [D in keyof T[K]]: D extends 'train' | 'val' ? ExactFragment<T[K][D], DatasetParams> : T[K][D] }
      : K extends 'customHooks' | 'hooks'
        ? ExactList<T[K], HookParams>
        : T[K];
};

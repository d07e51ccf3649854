// @detkit/datasets in a browser: the built-in transforms, so a web page feeds a model exactly as
// the validation loader does. No Node built-ins here (datasets, image decoding and evaluation
// read files; they stay in the main entry).
import type { DetkitPlugin } from './core.js';
import { registerTransforms } from './transforms/register.js';

export { TRANSFORM_BUILDERS, buildTransform } from './transforms/build.js';
export { applyTransforms, type Transform } from './transforms/transform.js';
export { registerTransforms } from './transforms/register.js';

export const plugin: DetkitPlugin = {
  name: '@detkit/datasets',
  version: '0.1.0',
  register: registerTransforms,
};
export default plugin;
